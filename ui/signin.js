// @ts-check
// The sign-in screen: a device code to enter anywhere, or the system browser (PKCE).
import { ipc } from './ipc.js';
import { el } from './dom.js';
import { fmtTime } from './format.js';
import { state } from './state.js';

/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);


export async function startSignIn() {
  state.signingIn = true;
  $('signin-error').hidden = true;
  try {
    const d = await ipc.signInStart();
    $('signin-start').hidden = true;
    $('signin-wait').hidden = false;
    if (d.method === 'device') {
      $('signin-instructions').textContent = 'On any device, open the Askara sign-in page and enter this code:';
      $('user-code').hidden = false;
      $('user-code').textContent = d.userCode;
      $('verification-uri').textContent = d.verificationUri;
      $('btn-open-browser').textContent = 'Open the sign-in page';
      $('signin-progress').textContent = `Waiting for approval… (the code expires at ${fmtTime(d.expiresAt)})`;
    } else {
      // The browser comes back to this app by itself (a redirect to 127.0.0.1).
      $('signin-instructions').textContent = 'Finish signing in to Askara in your browser; this window carries on by itself.';
      $('user-code').hidden = true;
      $('verification-uri').textContent = '';
      $('btn-open-browser').textContent = 'Open the sign-in page again';
      $('signin-progress').textContent = 'Waiting for the browser…';
      await ipc.openVerification();
    }
  } catch (e) {
    state.signingIn = false;
    signInFailed(/** @type {CmdError} */ (e));
  }
}

/** @param {CmdError} e */
export function signInFailed(e) {
  $('signin-start').hidden = false;
  $('signin-wait').hidden = true;
  $('signin-error').hidden = false;
  $('signin-error').textContent = e.message;
}

export function resetSignIn() {
  state.signingIn = false;
  $('signin-start').hidden = false;
  $('signin-wait').hidden = true;
}
