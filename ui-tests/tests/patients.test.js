import { expect, test } from 'vitest';
import { mockIPC } from '@tauri-apps/api/mocks';

// ui/ipc.js takes hold of the IPC bridge when it loads: mock it first.
mockIPC(() => {});
const { renderIds, patientLabel } = await import('../../ui/patients.js');

const HOSTILE = '<img src=x onerror="window.__pwned=1"><b>x</b>';

test('a row shows its identifiers as text, and nothing for a placeholder', () => {
  const cell = document.createElement('span');
  renderIds(cell, /** @type {any} */ ({ patientIdentifiers: 'born 1984-03-02 · ID 10023' }));
  expect(cell.textContent).toBe('born 1984-03-02 · ID 10023');
  expect(cell.title).toBe('born 1984-03-02 · ID 10023');
  renderIds(cell, null);
  expect(cell.textContent).toBe('');
});

test('a patient list entry: the name and its identifiers, both text', () => {
  const label = patientLabel(
    /** @type {any} */ ({ uuid: 'p1', name: HOSTILE, identifiers: 'born: not given', noteCount: 2 }),
  );
  expect(label.querySelector('.patient-name')?.textContent).toBe(HOSTILE);
  expect(label.querySelector('.ids')?.textContent).toBe('born: not given');
  expect(label.querySelectorAll('img, b').length).toBe(0);
  const unnamed = patientLabel(/** @type {any} */ ({ uuid: 'p2', name: '', identifiers: 'born 2001-01-01', noteCount: 1 }));
  expect(unnamed.querySelector('.patient-name')?.textContent).toBe('Unnamed patient');
});
