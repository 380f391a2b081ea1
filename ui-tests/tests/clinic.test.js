import { describe, expect, test } from 'vitest';
import { clinicStrip } from '../../ui/clinic.js';

// vitest.config.js pins TZ=Europe/Amsterdam (UTC+1 in winter) and the en-GB locale.

const now = Date.parse('2026-03-14T09:00:20Z');

/** A status of a desk in clinic mode. @param {object} clinic @param {object} [more] */
function status(clinic, more = {}) {
  return /** @type {import('../../ui/ipc.js').StatusView} */ ({
    demo: false,
    signedIn: false,
    account: null,
    tokenExpiresAt: null,
    tokenStorage: 'keyring',
    syncing: false,
    lastSyncAt: '2026-03-14T09:00:00Z',
    nextPollAt: '2026-03-14T09:00:45Z',
    lastNew: 0,
    target: '',
    problem: null,
    clinic: {
      server: 'postgres://reception@db.clinic.example:5432/askara?sslmode=verify-full',
      role: 'reception',
      connected: true,
      poller: 'askara_poller@clinic-server',
      pollerWrittenAt: '2026-03-14T09:00:00Z',
      stale: false,
      ...clinic,
    },
    ...more,
  });
}

describe('the status strip in clinic mode', () => {
  test("says the clinic server's last sync, by whom, and the next one; and who this desk acts as", () => {
    expect(clinicStrip(status({}), now)).toEqual({
      sync: 'Clinic inbox · synced 10:00 by askara_poller@clinic-server · next in 25 s',
      account: 'You act as reception',
    });
  });

  test('a poller that stopped writing is stale, with no next poll promised', () => {
    const s = clinicStrip(status({ stale: true }, { nextPollAt: null }), now);
    expect(s.sync).toBe('Clinic inbox · synced 10:00 by askara_poller@clinic-server · stale');
  });

  test('before any sync, and while connecting or reconnecting', () => {
    const none = status({ poller: null, pollerWrittenAt: null, role: null, connected: false }, { lastSyncAt: null, nextPollAt: null });
    expect(clinicStrip(none, now)).toEqual({ sync: 'Clinic inbox', account: 'Connecting to the clinic server…' });
    const lost = status({ connected: false });
    expect(clinicStrip(lost, now).account).toBe('Reconnecting as reception…');
  });

  test('a status without clinic mode gives nothing', () => {
    expect(clinicStrip(status({}, { clinic: null }), now)).toEqual({ sync: '', account: '' });
  });
});
