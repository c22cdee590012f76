// Typed client for the web API v1 (docs/api.md). Every request is relative to
// the page, so the dashboard also works behind a reverse proxy under a prefix.

export type Status = 'healthy' | 'loss' | 'delay' | 'no_data' | 'stale_emitter';
export const STATUSES: Status[] = ['loss', 'delay', 'stale_emitter', 'no_data', 'healthy'];

export interface PairSummary {
  source: string;
  target: string;
  lost: number;
  duplicated: number;
  digestMismatch: boolean;
}

// A topic's firing alerts (the loss detector's): how many, and the worst severity.
export interface TopicAlerts {
  firing: number;
  severity: string | null;
}

export interface TopicSummary {
  topic: string;
  status: Status;
  tiers: string[];
  lastWindow: number | null;
  lastFinalWindow: number | null;
  pairs: PairSummary[];
  p99ByTier: Record<string, number | null>;
  lastUpdatedMs: number | null;
  alerts?: TopicAlerts;
}

// An alert of the loss detector (docs/detect.md): one per topic, tier pair,
// kind and datacenter at a time; resolved ones are history.
export type AlertKind = 'loss' | 'duplicate' | 'digest_mismatch' | 'silent';
export type AlertState = 'firing' | 'resolved';
export const SEVERITIES = ['critical', 'warning', 'info'];

export interface Alert {
  id: number;
  fingerprint: string;
  topic: string;
  sourceTier: string;
  targetTier: string;
  kind: AlertKind | string;
  datacenter: string | null;
  state: AlertState | string;
  severity: string;
  startsAt: string;
  endsAt: string | null;
  updatedAt: string;
  lost: number;
  duplicated: number;
  windows: number;
  sourceMessages: number;
  firstWindow: number | null;
  lastWindow: number | null;
  firstWindowStart: string | null;
  lastWindowStart: string | null;
  dashboardPath: string;
}

export interface AlertsResponse {
  alerts: Alert[];
  nextBefore: number | null;
}

export interface AlertsQuery {
  state?: string;
  topic?: string;
  limit?: number;
  before?: number;
  since?: number; // epoch milliseconds (or seconds)
}

export interface TopicsResponse {
  total: number;
  windowSec: number;
  topics: TopicSummary[];
}

export interface SeriesPoint {
  window: number;
  count: number;
  bytes: number | null;
  noTime: number;
  malformed: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  latencyUpperBound: boolean;
  final: boolean;
  digest: string | null;
  records: number;
}

export interface Series {
  tier: string;
  datacenter: string | null;
  points: SeriesPoint[];
}

export interface SeriesResponse {
  topic: string;
  windowSec: number;
  from: number;
  to: number;
  series: Series[];
}

export interface LossWindow {
  window: number;
  sourceCount: number;
  targetCount: number;
  lost: number;
  duplicated: number;
  lossRatio: number | null;
  digestMatch: boolean | null;
  final: boolean;
}

export interface LossResponse {
  topic: string;
  source: string;
  target: string;
  windows: LossWindow[];
}

export interface PartitionRow {
  partition: number;
  count: number;
  firstOffset: number;
  lastOffset: number;
}

export interface PartitionsResponse {
  topic: string;
  tier: string;
  window: number;
  partitions: PartitionRow[];
}

export interface Emitter {
  emitterId: string;
  tier: string;
  datacenter: string;
  cluster: string;
  hostname: string;
  lastSeq: number;
  missingRecords: number;
  watermarkMs: number;
  lastSeenMs: number;
  stale: boolean;
  droppedRecords: number;
  failedDeliveries: number;
}

export interface EmittersResponse {
  emitters: Emitter[];
}

// GET .../windows/{window}/diff: the messages of a window missing from a target
// tier or duplicated there, read from the Kafka clusters (docs/api.md).
export interface DiffCopy {
  cluster: string;
  datacenter: string;
  partition: number;
  offset: number;
  timestamp?: number; // present when the message was read again
  key?: string | null;
  keyBase64?: string;
  keyTruncated?: boolean;
  keyBytes?: number;
  value?: string | null;
  valueBase64?: string;
  valueTruncated?: boolean;
  valueBytes?: number;
  contentOmitted?: boolean;
  headers?: { name: string; value?: string | null; valueBase64?: string }[];
}

export interface DiffItem {
  kind: 'missing' | 'duplicated' | 'extra' | string;
  copies: number;
  sourceCopies: number;
  targetCopies: number;
  digest: string;
  source: DiffCopy[];
  target: DiffCopy[];
}

export interface SpanCheck {
  cluster: string;
  datacenter: string;
  window: number;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  audited: number;
  read: number;
  expiredOffsets: number;
  state: string;
}

export interface DiffSide {
  tier: string;
  messages: number;
  audited: number;
  spans: number;
  spansNotMatching: SpanCheck[];
}

export interface DiffResponse {
  topic: string;
  window: number;
  windowSec: number;
  source: string;
  target: string;
  datacenter: string | null;
  limit: number;
  summary: {
    sourceTier: DiffSide;
    targetTier: DiffSide;
    missing: number;
    duplicated: number;
    extra: number;
    differing: number;
    listed: number;
    truncated: boolean;
    contentOmitted: number;
    elapsedMs: number;
  };
  items: DiffItem[];
}

export interface DiffQuery {
  source: string;
  target: string;
  datacenter?: string;
  limit?: number;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly code: string,
  ) {
    super(message);
  }
}

type Params = Record<string, string | number | undefined | null>;

export function apiUrl(path: string, params: Params = {}): string {
  const url = new URL('api/v1/' + path, document.baseURI);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url.pathname + url.search;
}

async function getJSON<T>(path: string, params: Params, signal?: AbortSignal): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(apiUrl(path, params), { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('cannot reach the Chaperone web service', 0, 'unreachable');
  }
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    let code = 'http_error';
    try {
      const body = await resp.json();
      if (body && body.error) {
        message = body.error.message ?? message;
        code = body.error.code ?? code;
      }
    } catch {
      // not JSON: keep the HTTP status line
    }
    throw new ApiError(message, resp.status, code);
  }
  return (await resp.json()) as T;
}

const enc = encodeURIComponent;

export interface TopicsQuery {
  q?: string;
  status?: string;
  sort?: string;
  limit?: number;
  offset?: number;
  from?: number;
  to?: number;
}

export const api = {
  topics: (query: TopicsQuery, signal?: AbortSignal) =>
    getJSON<TopicsResponse>('topics', { ...query }, signal),
  series: (topic: string, from: number, to: number, signal?: AbortSignal) =>
    getJSON<SeriesResponse>(`topics/${enc(topic)}/series`, { from, to }, signal),
  loss: (topic: string, source: string, target: string, from: number, to: number, signal?: AbortSignal) =>
    getJSON<LossResponse>(`topics/${enc(topic)}/loss`, { source, target, from, to }, signal),
  partitions: (topic: string, window: number, tier: string, signal?: AbortSignal) =>
    getJSON<PartitionsResponse>(`topics/${enc(topic)}/windows/${window}/partitions`, { tier }, signal),
  emitters: (signal?: AbortSignal) => getJSON<EmittersResponse>('emitters', {}, signal),
  alerts: (query: AlertsQuery, signal?: AbortSignal) => getJSON<AlertsResponse>('alerts', { ...query }, signal),
  diff: (topic: string, window: number, query: DiffQuery, signal?: AbortSignal) =>
    getJSON<DiffResponse>(`topics/${enc(topic)}/windows/${window}/diff`, { ...query }, signal),
};
