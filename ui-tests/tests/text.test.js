import { describe, expect, test } from 'vitest';
import { setDiff, setParts } from '../../ui/text.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1"><b>x</b>';

describe('setParts', () => {
  test('matched runs become <mark>, the rest text nodes, the text unchanged', () => {
    const el = document.createElement('div');
    el.textContent = 'old content';
    setParts(el, [
      { text: 'Pt. ', hit: false },
      { text: 'Ødegård', hit: true },
      { text: ', knee', hit: false },
    ]);
    expect(el.textContent).toBe('Pt. Ødegård, knee');
    expect([...el.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['Ødegård']);
    expect(el.childNodes.length).toBe(3);
  });

  test('markup in note text stays text, marked or not', () => {
    const el = document.createElement('div');
    setParts(el, [
      { text: HOSTILE, hit: false },
      { text: HOSTILE, hit: true },
    ]);
    expect(el.textContent).toBe(HOSTILE + HOSTILE);
    expect(el.querySelectorAll('img, b').length).toBe(0);
    expect(el.querySelector('mark')?.children.length).toBe(0);
  });
});

describe('setDiff', () => {
  test('added in <ins>, removed in <del>, counted', () => {
    const el = document.createElement('div');
    const counts = setDiff(el, [
      { kind: 'same', text: 'Start amoxicillin ' },
      { kind: 'removed', text: '500' },
      { kind: 'added', text: '250' },
      { kind: 'same', text: ' mg.\nReview' },
      { kind: 'added', text: ' in 2 weeks' },
    ]);
    expect(counts).toEqual({ added: 2, removed: 1 });
    expect([...el.querySelectorAll('ins')].map((e) => e.textContent)).toEqual(['250', ' in 2 weeks']);
    expect([...el.querySelectorAll('del')].map((e) => e.textContent)).toEqual(['500']);
    expect(el.textContent).toBe('Start amoxicillin 500250 mg.\nReview in 2 weeks');
  });

  test('no change: no <ins>/<del>, zero counts; markup stays text', () => {
    const el = document.createElement('div');
    expect(setDiff(el, [{ kind: 'same', text: HOSTILE }])).toEqual({ added: 0, removed: 0 });
    expect(el.children.length).toBe(0);
    expect(el.textContent).toBe(HOSTILE);
  });
});
