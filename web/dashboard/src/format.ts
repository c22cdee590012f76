// Number and time formatting. Times are shown in UTC unless the user picks local time.

export type Zone = 'utc' | 'local';

const intFmt = new Intl.NumberFormat('en-US');
export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : intFmt.format(n);
}

export function fmtCompact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e4) return (n / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
  return intFmt.format(Math.round(n * 100) / 100);
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 10) return ms.toFixed(2) + ' ms';
  if (ms < 1000) return ms.toFixed(ms < 100 ? 1 : 0) + ' ms';
  if (ms < 60_000) return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1) + ' s';
  if (ms < 3_600_000) return (ms / 60_000).toFixed(1) + ' min';
  return (ms / 3_600_000).toFixed(1) + ' h';
}

export function fmtPct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '–';
  if (ratio === 0) return '0%';
  const p = ratio * 100;
  return (p < 0.01 ? '<0.01' : p < 1 ? p.toFixed(2) : p.toFixed(1)) + '%';
}

const pad = (n: number) => String(n).padStart(2, '0');

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function parts(epochSec: number, zone: Zone): Parts {
  const t = new Date(epochSec * 1000);
  return zone === 'utc'
    ? { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() }
    : { y: t.getFullYear(), mo: t.getMonth() + 1, d: t.getDate(), h: t.getHours(), mi: t.getMinutes(), s: t.getSeconds() };
}

// "2026-11-22 10:00" (seconds shown only when not zero).
export function fmtTime(epochSec: number | null | undefined, zone: Zone): string {
  if (epochSec === null || epochSec === undefined) return '–';
  const p = parts(epochSec, zone);
  const sec = p.s ? ':' + pad(p.s) : '';
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}${sec}`;
}

// "11-22" (month-day).
export function fmtDate(epochSec: number, zone: Zone): string {
  const p = parts(epochSec, zone);
  return `${pad(p.mo)}-${pad(p.d)}`;
}

export function fmtClock(epochSec: number, zone: Zone): string {
  const p = parts(epochSec, zone);
  return `${pad(p.h)}:${pad(p.mi)}${p.s ? ':' + pad(p.s) : ''}`;
}

export function zoneLabel(zone: Zone): string {
  if (zone === 'utc') return 'UTC';
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? '+' : '−';
  return `UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

// Value for <input type="datetime-local"> and back.
export function toInputValue(epochSec: number, zone: Zone): string {
  const p = parts(epochSec, zone);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

export function fromInputValue(value: string, zone: Zone): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const ms = zone === 'utc' ? Date.parse(value + 'Z') : new Date(value).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

// A span of time: "12 s", "5 min", "3.5 h", "2.0 d".
export function fmtSpan(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export function fmtAgo(ms: number | null | undefined, nowMs: number): string {
  if (!ms) return '–';
  return `${fmtSpan((nowMs - ms) / 1000)} ago`;
}

export function fmtDuration(sec: number): string {
  if (sec % 86400 === 0) return `${sec / 86400} d`;
  if (sec % 3600 === 0) return `${sec / 3600} h`;
  if (sec % 60 === 0) return `${sec / 60} min`;
  return `${sec} s`;
}
