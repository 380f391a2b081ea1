// @ts-check
// Times in the user's own timezone and language (the system's, as WebKit reports it).

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const timeSec = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dayYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Today: 10:31; this year: 24 Feb; else 24 Feb 2025. @param {string} iso */
export function fmtWhen(iso) {
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return time.format(d);
  return d.getFullYear() === now.getFullYear() ? day.format(d) : dayYear.format(d);
}

/** @param {string} iso */
export function fmtDateTime(iso) {
  return full.format(new Date(iso));
}

/** @param {string} iso */
export function fmtTime(iso) {
  const d = new Date(iso);
  return d.getSeconds() ? timeSec.format(d) : time.format(d);
}

/** "28 s", "52 min", "3 h" from now (0 s when past). @param {string} iso @param {number} now */
export function fmtIn(iso, now) {
  const s = Math.max(0, Math.round((new Date(iso).getTime() - now) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
