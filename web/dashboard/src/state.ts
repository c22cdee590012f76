// All view state lives in the URL hash, so a copied link opens the same view:
//   #/?q=ord&status=loss&sort=-loss&offset=100           overview
//   #/topic/orders?range=6h&w=1795303800&pt=regional     topic page
//   #/alerts?state=firing&topic=orders&before=42          the loss detector's alerts
//   #/diff/orders?w=1795303800&source=regional&target=aggregate   a window's missing messages
// Keys shared by every view: range (1h|6h|24h|7d|custom) with from/to for a
// custom range, refresh (seconds, 0 = off) and tz (utc|local).

import type { Zone } from './format';

export type View = 'overview' | 'topic' | 'alerts' | 'diff';

export interface Route {
  view: View;
  topic: string;
  params: URLSearchParams;
}

export const SHARED_KEYS = ['range', 'from', 'to', 'refresh', 'tz'];

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const params = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  const m = /^\/(topic|diff)\/(.+)$/.exec(path);
  if (m) {
    let topic = m[2];
    try {
      topic = decodeURIComponent(topic);
    } catch {
      // keep the raw text: the API answers with a clear error for a bad name
    }
    return { view: m[1] as 'topic' | 'diff', topic, params };
  }
  if (path === '/alerts') return { view: 'alerts', topic: '', params };
  return { view: 'overview', topic: '', params };
}

export function hrefFor(view: View, topic: string, params: URLSearchParams): string {
  const qs = params.toString();
  const path =
    view === 'topic' || view === 'diff' ? `/${view}/${encodeURIComponent(topic)}` : view === 'alerts' ? '/alerts' : '/';
  return '#' + path + (qs ? '?' + qs : '');
}

// The shared keys of `params`, for links that switch views.
export function sharedParams(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of SHARED_KEYS) {
    const v = params.get(k);
    if (v !== null) out.set(k, v);
  }
  return out;
}

export function withParams(params: URLSearchParams, changes: Record<string, string | number | null>): URLSearchParams {
  const out = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '') out.delete(k);
    else out.set(k, String(v));
  }
  return out;
}

export const PRESETS: Record<string, number> = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400 };
export const DEFAULT_PRESET = '24h';
export const MAX_RANGE_SEC = 90 * 86400;

export interface TimeRange {
  preset: string; // a PRESETS key or 'custom'
  from: number;
  to: number;
}

// Resolves the range in `params` at time `nowSec`. Presets slide with time
// (auto-refresh follows them); a custom range is fixed.
export function resolveRange(params: URLSearchParams, nowSec: number): TimeRange {
  const preset = params.get('range') ?? DEFAULT_PRESET;
  if (preset === 'custom') {
    const from = Number(params.get('from'));
    const to = Number(params.get('to'));
    if (Number.isInteger(from) && Number.isInteger(to) && from > 0 && to > from && to - from <= MAX_RANGE_SEC) {
      return { preset, from, to };
    }
  }
  const dur = PRESETS[preset] ?? PRESETS[DEFAULT_PRESET];
  return { preset: PRESETS[preset] ? preset : DEFAULT_PRESET, from: nowSec - dur, to: nowSec };
}

export const REFRESH_CHOICES = [10, 30, 60, 300];

export function refreshSec(params: URLSearchParams): number {
  const v = Number(params.get('refresh') ?? 0);
  return Number.isFinite(v) && v >= 5 ? Math.floor(v) : 0;
}

export function zone(params: URLSearchParams): Zone {
  return params.get('tz') === 'local' ? 'local' : 'utc';
}
