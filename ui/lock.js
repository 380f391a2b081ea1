// @ts-check
// The idle lock's screens: the lock screen (the PIN, or a full Askara sign-in), choosing the
// PIN, and the activity reports that postpone the lock. Rust decides when to lock and says so
// with `lock-state`; app.js then removes every note, name and search from the page before
// this screen shows. The PIN is only ever sent to Rust, never kept here.
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { state } from './state.js';

/** @typedef {import('./ipc.js').LockView} LockView */
/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);

/** "10 minutes", "45 seconds": the idle time in words. @param {number} secs */
export function idleWords(secs) {
  if (secs % 60 === 0) {
    const m = secs / 60;
    return `${m} minute${m === 1 ? '' : 's'}`;
  }
  return `${secs} second${secs === 1 ? '' : 's'}`;
}

let lastTouch = 0;

/**
 * Input in the window. Tells Rust at most once per quarter of the idle time (and at least
 * every 15 s), so the lock never comes while someone is working.
 * @param {number} [now]
 */
export function noteActivity(now = Date.now()) {
  const v = state.lock;
  if (!v || v.locked) return;
  const every = Math.min(15000, (v.idleSecs * 1000) / 4);
  if (now - lastTouch < every) return;
  lastTouch = now;
  ipc.touch().catch(() => {});
}

/** Draws the lock screen for `v` (what may unlock it, the wrong tries). @param {LockView} v */
export function renderLock(v) {
  $('lock-why').textContent =
    `Locked after ${idleWords(v.idleSecs)} without activity, or with the Lock button. ` +
    'Notes stay hidden until you unlock; syncing and imports carry on.';
  const pinUsable = v.pinSet && !v.signInRequired;
  $('lock-pin-wrap').hidden = !pinUsable;
  $('lock').dataset.failedTries = String(v.failedTries);
  const tries = $('lock-tries');
  tries.hidden = !(pinUsable && v.failedTries > 0);
  tries.textContent = `${v.failedTries} wrong ${v.failedTries === 1 ? 'try' : 'tries'}: ${v.triesLeft} left before only a full Askara sign-in unlocks.`;
  let why = '';
  if (v.signInRequired) why = 'Too many wrong PINs: sign in with Askara to unlock, then choose a new PIN.';
  else if (!v.pinSet && v.problem) why = `The unlock PIN cannot be read: ${v.problem}. Sign in with Askara to unlock.`;
  else if (!v.pinSet) why = 'No unlock PIN is set on this computer: sign in with Askara to unlock.';
  if (why) lockMessage(why);
  el('btn-lock-signin', HTMLButtonElement).className = pinUsable ? 'ghost' : 'primary big';
}

/** @param {string} text */
function lockMessage(text) {
  $('lock-message').hidden = !text;
  $('lock-message').textContent = text;
}

/** Empties the lock screen's fields and message (on lock and unlock). */
export function resetLockScreen() {
  el('lock-pin', HTMLInputElement).value = '';
  lockMessage('');
}

async function onUnlock(/** @type {Event} */ e) {
  e.preventDefault();
  const input = el('lock-pin', HTMLInputElement);
  const pin = input.value;
  input.value = '';
  if (!pin) return;
  const button = el('btn-unlock', HTMLButtonElement);
  button.disabled = true;
  lockMessage('');
  try {
    // Unlocked: the `lock-state` event redraws the inbox.
    await ipc.unlock(pin);
  } catch (err) {
    lockMessage(/** @type {CmdError} */ (err).message);
    try {
      state.lock = await ipc.lockState();
      if (state.lock.locked) renderLock(state.lock);
    } catch {
      /* the event carries the same */
    }
  } finally {
    button.disabled = false;
    input.focus();
  }
}

/**
 * Opens "choose an unlock PIN" (after a sign-in without one, from the strip or Settings).
 * @param {() => void} redraw
 */
export function openPinSetup(redraw) {
  state.pinSetup = true;
  el('pin-new', HTMLInputElement).value = '';
  el('pin-repeat', HTMLInputElement).value = '';
  $('pin-message').hidden = true;
  const secs = state.lock?.idleSecs ?? 600;
  $('pin-why').textContent =
    `After ${idleWords(secs)} without activity the inbox locks and hides every note. ` +
    'This PIN unlocks it on this computer; it is kept only as a hash in the OS keyring. ' +
    'After five wrong tries only a full Askara sign-in unlocks.';
  redraw();
  el('pin-new', HTMLInputElement).focus();
}

/**
 * Hooks up the lock screen and the PIN screen; `redraw` switches screens (strip.js).
 * @param {() => void} redraw
 * @param {() => void} signIn starts a full sign-in from the lock screen
 */
export function wireLock(redraw, signIn) {
  $('lock-form').addEventListener('submit', onUnlock);
  $('btn-lock-signin').addEventListener('click', () => {
    state.lockSignIn = true;
    redraw();
    signIn();
  });
  $('btn-lock').addEventListener('click', () => ipc.lockNow().catch(() => {}));
  $('btn-pin-setup').addEventListener('click', () => openPinSetup(redraw));
  $('btn-pin-later').addEventListener('click', () => {
    state.pinSetup = false;
    redraw();
  });
  $('pin-form').addEventListener('submit', async (/** @type {Event} */ e) => {
    e.preventDefault();
    const a = el('pin-new', HTMLInputElement);
    const b = el('pin-repeat', HTMLInputElement);
    const box = $('pin-message');
    if (a.value !== b.value) {
      box.hidden = false;
      box.textContent = 'The two PINs differ: type the same PIN twice.';
      return;
    }
    try {
      state.lock = await ipc.setPin(a.value);
      a.value = '';
      b.value = '';
      state.pinSetup = false;
      redraw();
    } catch (err) {
      box.hidden = false;
      box.textContent = /** @type {CmdError} */ (err).message;
    }
  });
}
