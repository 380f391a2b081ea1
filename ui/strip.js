// @ts-check
// Counts per status, the patient list, the status strip (sync, sign-in, problems) and which
// screen shows.
import { ipc } from './ipc.js';
import { el, setText } from './dom.js';
import { state } from './state.js';
import { reloadList } from './app.js';
import { startSignIn } from './signin.js';
import { fmtTime, fmtIn } from './format.js';
import { patientLabel } from './patients.js';
import { clinicStrip } from './clinic.js';

/** @typedef {import('./ipc.js').NoteView} NoteView */
/** @typedef {import('./ipc.js').Status} Status */
/** @typedef {import('./ipc.js').StatusView} StatusView */
/** @typedef {import('./ipc.js').CmdError} CmdError */

const $ = (/** @type {string} */ id) => el(id);

export async function refreshCounts() {
  const c = await ipc.counts();
  state.counts = c;
  for (const el of document.querySelectorAll('[data-count]')) {
    const k = /** @type {HTMLElement} */ (el).dataset.count;
    el.textContent = String(c[/** @type {keyof typeof c} */ (k)] ?? 0);
  }
  const base = state.info?.demo ? 'Askara Inbox (demo)' : 'Askara Inbox';
  document.title = c.new ? `(${c.new} new) ${base}` : base;
}

export async function refreshPatients() {
  const text = state.search.trim() || null;
  const ps = await ipc.patients(text, 40);
  // Locked while the names were on their way: they stay out of the page.
  if (state.lock?.locked) return;
  const ul = $('patients');
  ul.replaceChildren(
    ...ps.map((p) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.dataset.patient = p.uuid;
      b.className = state.patient?.uuid === p.uuid ? 'active' : '';
      // The name with two identifiers under it: patients of one name are told apart.
      const n = patientLabel(p);
      const c = document.createElement('span');
      c.className = 'count';
      c.textContent = String(p.noteCount);
      b.append(n, c);
      b.addEventListener('click', () => choosePatient(p.uuid, `${p.name} · ${p.identifiers}`));
      li.append(b);
      return li;
    }),
  );
}

/** @param {string|null} uuid @param {string} name */
export async function choosePatient(uuid, name) {
  state.patient = uuid ? { uuid, name } : null;
  if (uuid) {
    state.search = '';
    el('search', HTMLInputElement).value = '';
  }
  await Promise.all([reloadList(), refreshPatients()]);
}

export function renderStatus() {
  const s = state.status;
  if (!s) return;
  const now = Date.now();
  const dot = $('strip-dot');
  const p = s.problem;
  // Clinic mode: the clinic server syncs; this desk is "on" while connected to it.
  const on = s.clinic ? s.clinic.connected : s.signedIn;
  const dotClass = `dot${p ? ' warn' : on ? '' : ' off'}`;
  if (dot.className !== dotClass) dot.className = dotClass;
  if (s.clinic) {
    const c = clinicStrip(s, now);
    setText($('strip-sync'), c.sync);
    setText($('strip-account'), c.account);
  } else {
    let sync = '';
    if (!s.signedIn) sync = 'Not signed in';
    else if (s.syncing && !s.lastSyncAt) sync = 'Syncing…';
    else sync = s.lastSyncAt ? `Synced ${fmtTime(s.lastSyncAt)}` : 'Not synced yet';
    if (s.signedIn && s.nextPollAt) sync += ` · next in ${fmtIn(s.nextPollAt, now)}`;
    setText($('strip-sync'), sync);
    let acct = '';
    if (s.signedIn) {
      acct = `Signed in${s.account ? ` as ${s.account}` : ''}`;
      if (s.tokenExpiresAt) acct += ` (token ${fmtIn(s.tokenExpiresAt, now)})`;
      if (s.tokenStorage === 'memory') acct += ' · demo: no keyring, sign-in kept in memory';
    }
    setText($('strip-account'), acct);
  }
  setText($('strip-target'), s.target ? `Target: ${s.target}` : 'No import target (Settings)');
  $('problem').hidden = !p;
  $('strip-target').hidden = !!p;
  if (p) {
    let text = `⚠ ${p.summary}`;
    if (p.code === 'rate_limited' && p.until) text += ` until ${fmtTime(p.until)}`;
    else if (p.until && new Date(p.until).getTime() > now) text += ` · retrying in ${fmtIn(p.until, now)}`;
    else if (p.until) text += ' · retrying now';
    text += `. ${p.fix}.`;
    setText($('problem-text'), text.replace('..', '.'));
    $('problem-signin').hidden = !p.needsSignIn;
  }
}

/** @param {StatusView} s */
export function onStatus(s) {
  state.status = s;
  renderStatus();
  updateScreens();
}

export function updateScreens() {
  const s = state.status;
  if (state.lock?.locked) {
    // Nothing of the inbox shows while locked: the lock screen, or the sign-in that unlocks.
    $('settings').hidden = true;
    $('pin-setup').hidden = true;
    $('app').hidden = true;
    $('lock').hidden = state.lockSignIn;
    $('signin').hidden = !state.lockSignIn;
    $('btn-signin-settings').hidden = true;
    $('btn-signin-back').hidden = false;
    $('btn-demo').hidden = true;
    $('keyring-problem').hidden = true;
    return;
  }
  state.lockSignIn = false;
  $('lock').hidden = true;
  $('btn-signin-settings').hidden = false;
  $('btn-signin-back').hidden = true;
  $('btn-pin-setup').hidden = !state.lock || state.lock.pinSet;
  // A desk in clinic mode needs no Askara sign-in of its own: the clinic server polls.
  const signIn = !!s && !s.clinic && (!s.signedIn || state.forceSignIn);
  const settingsOpen = !$('settings').hidden;
  const pinSetup = !signIn && state.pinSetup && !settingsOpen;
  $('pin-setup').hidden = !pinSetup;
  $('signin').hidden = !signIn || settingsOpen;
  // The PIN screen covers the inbox as Settings does (the inbox stays laid out beneath).
  $('app').hidden = signIn;
  if (signIn) {
    const kp = s?.problem?.code === 'keyring' ? s.problem : null;
    $('keyring-problem').hidden = !kp;
    $('keyring-problem').textContent = kp ? `${kp.summary}. ${kp.fix}` : '';
    $('btn-demo').hidden = !(state.info?.firstRun && !state.info?.demo);
    // The demo signs itself in: the simulator approves device codes at once.
    if (state.info?.demo && !state.signingIn && !s?.signedIn) startSignIn();
  }
}

