// @ts-check
// Clinic mode's words in the status strip: this desk works in the clinic's shared inbox, the
// clinic server polls Askara, and the strip says that server's last sync (as it published it),
// who this desk acts as, and whether it is connected. Pure: strip.js puts the text in place.
import { fmtTime, fmtIn } from './format.js';

/** @typedef {import('./ipc.js').StatusView} StatusView */

/**
 * The strip's sync and account texts for a desk in clinic mode.
 * @param {StatusView} s a status whose `clinic` is set
 * @param {number} now
 * @returns {{sync: string, account: string}}
 */
export function clinicStrip(s, now) {
  const c = s.clinic;
  if (!c) return { sync: '', account: '' };
  let sync = 'Clinic inbox';
  if (s.lastSyncAt) {
    sync += ` · synced ${fmtTime(s.lastSyncAt)}`;
    if (c.poller) sync += ` by ${c.poller}`;
  } else if (c.poller) {
    sync += ` · not synced yet by ${c.poller}`;
  }
  if (s.nextPollAt && !c.stale) sync += ` · next in ${fmtIn(s.nextPollAt, now)}`;
  if (c.stale) sync += ' · stale';
  let account;
  if (c.role) account = c.connected ? `You act as ${c.role}` : `Reconnecting as ${c.role}…`;
  else account = 'Connecting to the clinic server…';
  return { sync, account };
}
