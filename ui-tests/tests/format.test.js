import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fmtDateTime, fmtIn, fmtTime, fmtWhen } from '../../ui/format.js';

// vitest.config.js pins TZ=Europe/Amsterdam (UTC+1 in winter) and the en-GB locale.

test('the test workers run in the pinned zone and language', () => {
  // Guards the expectations below: they are wrong in any other zone or locale.
  expect(new Date('2026-01-01T00:00:00Z').getHours()).toBe(1);
  expect(new Intl.DateTimeFormat().resolvedOptions().locale).toBe('en-GB');
});

describe('fmtIn', () => {
  const now = Date.parse('2026-03-14T09:00:00Z');
  const after = (/** @type {number} */ ms) => new Date(now + ms).toISOString();

  test('seconds below 90 s', () => {
    expect(fmtIn(after(0), now)).toBe('0 s');
    expect(fmtIn(after(28_000), now)).toBe('28 s');
    expect(fmtIn(after(89_000), now)).toBe('89 s');
    expect(fmtIn(after(89_400), now)).toBe('89 s');
  });

  test('minutes from 90 s, rounded', () => {
    expect(fmtIn(after(89_500), now)).toBe('2 min'); // rounds to 90 s first
    expect(fmtIn(after(90_000), now)).toBe('2 min');
    expect(fmtIn(after(52 * 60_000), now)).toBe('52 min');
    expect(fmtIn(after(89 * 60_000 + 59_000), now)).toBe('90 min');
  });

  test('hours from 90 min, rounded', () => {
    expect(fmtIn(after(90 * 60_000), now)).toBe('2 h');
    expect(fmtIn(after(3 * 3_600_000), now)).toBe('3 h');
    expect(fmtIn(after(26 * 3_600_000 + 60_000), now)).toBe('26 h');
  });

  test('a time already past is 0 s, never negative', () => {
    expect(fmtIn(after(-1_000), now)).toBe('0 s');
    expect(fmtIn(after(-5 * 3_600_000), now)).toBe('0 s');
  });
});

describe('fmtWhen', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-14T09:31:00Z')); // 10:31 on 14 March in Amsterdam
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('today shows the local time only', () => {
    expect(fmtWhen('2026-03-14T09:31:00Z')).toBe('10:31');
    expect(fmtWhen('2026-03-14T15:05:00+01:00')).toBe('15:05');
  });

  test('"today" is the local day, not the UTC one', () => {
    // 23:30 UTC on the 13th is 00:30 on the 14th in Amsterdam: today.
    expect(fmtWhen('2026-03-13T23:30:00Z')).toBe('00:30');
    // 22:59 UTC on the 13th is still the 13th there: an earlier day.
    expect(fmtWhen('2026-03-13T22:59:00Z')).toBe('13 Mar');
  });

  test('earlier this year shows day and month', () => {
    expect(fmtWhen('2026-02-24T12:00:00Z')).toBe('24 Feb');
    // Midnight-thirty on 1 January local time is still 2025 in UTC.
    expect(fmtWhen('2025-12-31T23:30:00Z')).toBe('1 Jan');
  });

  test('another year shows the year, even on the same day and month', () => {
    expect(fmtWhen('2025-02-24T12:00:00Z')).toBe('24 Feb 2025');
    expect(fmtWhen('2025-03-14T09:31:00Z')).toBe('14 Mar 2025');
    expect(fmtWhen('2025-12-31T22:30:00Z')).toBe('31 Dec 2025');
  });
});

describe('fmtTime and fmtDateTime', () => {
  test('fmtTime shows seconds only when there are some', () => {
    expect(fmtTime('2026-03-14T09:31:00Z')).toBe('10:31');
    expect(fmtTime('2026-03-14T09:31:07Z')).toBe('10:31:07');
  });

  test('fmtDateTime shows date and local time', () => {
    expect(fmtDateTime('2026-03-13T23:30:00Z')).toBe('14 Mar 2026, 00:30');
  });
});
