import { afterEach, describe, expect, test } from 'vitest';
import { el } from '../../ui/dom.js';

afterEach(() => {
  document.body.replaceChildren();
});

describe('el', () => {
  test('returns the element with that id, of the kind asked for', () => {
    document.body.innerHTML = '<input id="search"><div id="pane"></div>';
    const input = el('search', HTMLInputElement);
    input.value = 'odegard';
    expect(/** @type {HTMLInputElement} */ (document.getElementById('search')).value).toBe('odegard');
    expect(el('pane').id).toBe('pane');
  });

  test('a missing element is an error that names it', () => {
    expect(() => el('nowhere')).toThrow('#nowhere is missing, expected HTMLElement');
  });

  test('an element of another kind is an error that names both', () => {
    document.body.innerHTML = '<div id="search"></div>';
    expect(() => el('search', HTMLInputElement)).toThrow('#search is a <div>, expected HTMLInputElement');
  });
});
