// Development only: serves dist/ and a synthetic /api/v1 (docs/api.md shapes, alerts included)
// so the front end can be worked on without a running Chaperone. The browser
// tests never use it: they run against the real `chaperone` server.
//   node dev/server.mjs [--port 8090] [--topics 2500]
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const port = arg('--port', 8090);
const nTopics = arg('--topics', 2500);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const W = 600;
const TIERS = ['producer', 'regional', 'replicator', 'aggregate', 'consumer:billing'];
const now = () => Math.floor(Date.now() / 1000);

// Deterministic pseudo-random numbers per (topic, window, salt).
function rnd(...k) {
  let x = 2166136261;
  for (const c of k.join('|')) x = Math.imul(x ^ c.charCodeAt(0), 16777619);
  x ^= x >>> 13;
  x = Math.imul(x, 0x5bd1e995);
  return ((x ^ (x >>> 15)) >>> 0) / 4294967296;
}

const MANY_TIERS = ['producer', 'proxy-a', 'proxy-b', 'regional', 'replicator', 'aggregate', 'consumer:alerts', 'consumer:billing', 'consumer:fraud', 'consumer:search', 'consumer:ml', 'consumer:warehouse'];
const topicNames = ['orders', 'payments', 'clicks', 'fanout'];
for (let i = 0; topicNames.length < nTopics; i++) topicNames.push(`svc${String(i % 97).padStart(2, '0')}.events-${i}`);

function topicInfo(t) {
  const idle = t.endsWith('-7');
  const tiers = t === 'clicks' ? TIERS.slice(0, 3) : t === 'fanout' ? MANY_TIERS : TIERS;
  return { idle, tiers, lossy: t === 'orders' || rnd(t, 'lossy') < 0.02, stale: rnd(t, 'stale') < 0.01, slow: rnd(t, 'slow') < 0.02 };
}

// Extra messages per topic|window|tier: POST /dev/extra-record mimics publishing
// one more audit record (e.g. to try the loss shading).
const extra = new Map();

function windows(t, from, to) {
  const info = topicInfo(t);
  if (info.idle) return [];
  const out = [];
  const last = Math.floor(now() / W) * W;
  for (let w = Math.ceil(from / W) * W; w < to && w <= last; w += W) {
    const base = Math.round(800 + 400 * Math.sin(w / 7200) + 200 * rnd(t, w));
    const open = w >= last - W;
    const counts = {};
    info.tiers.forEach((tier, i) => {
      let c = base;
      if (info.lossy && i >= 2 && rnd(t, w, 'loss') < 0.03) c -= 1 + Math.floor(rnd(t, w, 'n') * 40);
      if (info.lossy && i >= 3 && rnd(t, w, 'dup') < 0.02) c += 5;
      if (open && i > 0) c = Math.round(c * (1 - 0.2 * i * (w === last ? 1 : 0.3)));
      counts[tier] = Math.max(0, c) + (extra.get(`${t}|${w}|${tier}`) ?? 0);
    });
    out.push({ w, counts, open });
  }
  return out;
}

function seriesFor(t, from, to) {
  const info = topicInfo(t);
  const ws = windows(t, from, to);
  return info.tiers.map((tier, i) => ({
    tier,
    datacenter: null,
    points: ws.map(({ w, counts, open }) => {
      const lat = (info.slow ? 70000 : 40) * (1 + i * 1.8) * (0.8 + 0.4 * rnd(t, w, tier));
      return {
        window: w, count: counts[tier], bytes: counts[tier] * 256, noTime: 0, malformed: 0,
        mean: lat * 0.6, p50: lat * 0.5, p95: lat * 0.9, p99: lat, max: lat * 1.3, latencyUpperBound: false,
        final: !open, digest: (counts[tier] * 2654435761).toString(16).padStart(16, '0'), records: 3 + i,
      };
    }),
  }));
}

function lossFor(t, source, target, from, to) {
  return windows(t, from, to).map(({ w, counts, open }) => {
    const s = counts[source], g = counts[target];
    return { window: w, sourceCount: s, targetCount: g, lost: Math.max(0, s - g), duplicated: Math.max(0, g - s),
      lossRatio: s ? Math.max(0, s - g) / s : null, digestMatch: s === g, final: !open };
  });
}

function summary(t, from, to) {
  const info = topicInfo(t);
  const ws = windows(t, from, to);
  const fin = ws.filter((x) => !x.open);
  const pairs = info.tiers.slice(1).map((target, i) => {
    const source = info.tiers[i];
    let lost = 0, dup = 0;
    for (const x of fin) { lost += Math.max(0, x.counts[source] - x.counts[target]); dup += Math.max(0, x.counts[target] - x.counts[source]); }
    return { source, target, lost, duplicated: dup, digestMismatch: false };
  });
  const s = seriesFor(t, from, to);
  const p99ByTier = {};
  for (const x of s) { const f = x.points.filter((p) => p.final).pop(); if (f) p99ByTier[x.tier] = Math.round(f.p99 * 10) / 10; }
  const status = !ws.length ? 'no_data' : pairs.some((p) => p.lost || p.duplicated) ? 'loss' : info.slow ? 'delay' : info.stale ? 'stale_emitter' : 'healthy';
  return { topic: t, status, tiers: info.tiers, lastWindow: ws.length ? ws[ws.length - 1].w : null,
    lastFinalWindow: fin.length ? fin[fin.length - 1].w : null, pairs, p99ByTier, lastUpdatedMs: ws.length ? Date.now() - 4000 : null };
}

// The loss detector's alerts: one per final window with loss of a lossy topic
// in the last day (the newest per topic still firing), ids in window order.
let alertCache = { key: '', alerts: [] };
function allAlerts() {
  const key = String(Math.floor(now() / W));
  if (alertCache.key === key) return alertCache.alerts;
  const out = [];
  for (const t of topicNames.slice(0, 200)) {
    const info = topicInfo(t);
    if (!info.lossy) continue;
    const lossy = lossFor(t, info.tiers[1], info.tiers[2], now() - 86400, now()).filter((x) => x.final && (x.lost || x.duplicated));
    lossy.forEach((x, i) => {
      const firing = i === lossy.length - 1;
      const at = (x.window + 2 * W) * 1000;
      out.push({ topic: t, sourceTier: info.tiers[1], targetTier: info.tiers[2], kind: x.lost ? 'loss' : 'duplicate',
        datacenter: null, state: firing ? 'firing' : 'resolved', severity: x.lost > 20 ? 'critical' : 'warning',
        startsAt: new Date(at).toISOString(), endsAt: firing ? null : new Date(at + W * 1000).toISOString(),
        updatedAt: new Date(firing ? at : at + W * 1000).toISOString(), lost: x.lost, duplicated: x.duplicated, windows: 1,
        sourceMessages: x.sourceCount, firstWindow: x.window, lastWindow: x.window,
        firstWindowStart: new Date(x.window * 1000).toISOString(), lastWindowStart: new Date(x.window * 1000).toISOString(),
        dashboardPath: `#/topic/${t}?range=custom&from=${x.window - 3600}&to=${x.window + W + 3600}&w=${x.window}` });
    });
  }
  out.sort((a, b) => a.firstWindow - b.firstWindow || a.topic.localeCompare(b.topic));
  out.forEach((a, i) => { a.id = i + 1; a.fingerprint = (0x9e3779b97f4a7c15n * BigInt(i + 1)).toString(16).slice(-16).padStart(16, '0'); });
  alertCache = { key, alerts: out.reverse() };
  return alertCache.alerts;
}

function firingOf(t) {
  const rank = { info: 1, warning: 2, critical: 3 };
  const f = allAlerts().filter((a) => a.topic === t && a.state === 'firing');
  return { firing: f.length, severity: f.length ? f.reduce((w, a) => (rank[a.severity] > rank[w] ? a.severity : w), f[0].severity) : null };
}

const summaryCache = new Map();
function allSummaries(from, to) {
  const key = `${Math.floor(from / W)}:${Math.floor(to / W)}`;
  if (!summaryCache.has(key)) { summaryCache.clear(); summaryCache.set(key, topicNames.map((t) => summary(t, from, to))); }
  return summaryCache.get(key);
}

const STATUS_ORDER = { loss: 0, delay: 1, stale_emitter: 2, no_data: 3, healthy: 4 };
function api(path, q) {
  const to = Number(q.get('to') || now());
  const from = Number(q.get('from') || to - 86400);
  let m;
  if (path === 'topics') {
    let list = allSummaries(from, to);
    if (q.get('q')) list = list.filter((t) => t.topic.includes(q.get('q')));
    if (q.get('status')) list = list.filter((t) => t.status === q.get('status'));
    const sort = q.get('sort') || 'topic';
    const desc = sort.startsWith('-');
    const key = sort.replace('-', '');
    const val = (t) => key === 'status' ? STATUS_ORDER[t.status] : key === 'loss' ? t.pairs.reduce((a, p) => a + p.lost, 0)
      : key === 'p99' ? Math.max(0, ...Object.values(t.p99ByTier)) : t.topic;
    list = [...list].sort((a, b) => { const x = val(a), y = val(b); return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1) || a.topic.localeCompare(b.topic); });
    const off = Number(q.get('offset') || 0), lim = Number(q.get('limit') || 1000);
    return { total: list.length, windowSec: W, topics: list.slice(off, off + lim).map((t) => ({ ...t, alerts: firingOf(t.topic) })) };
  }
  if (path === 'alerts') {
    const since = Number(q.get('since') || 0);
    const sinceMs = since < 1e11 ? since * 1000 : since;
    const before = Number(q.get('before') || 0), lim = Number(q.get('limit') || 100);
    const list = allAlerts().filter((a) => (!q.get('state') || a.state === q.get('state')) && (!q.get('topic') || a.topic === q.get('topic')) &&
      (!before || a.id < before) && Date.parse(a.updatedAt) >= sinceMs);
    return { alerts: list.slice(0, lim), nextBefore: list.length > lim ? list[lim - 1].id : null };
  }
  if ((m = /^topics\/([^/]+)\/series$/.exec(path))) {
    const t = decodeURIComponent(m[1]);
    if (!topicNames.includes(t)) return [404, { error: { code: 'not_found', message: `unknown topic ${t}` } }];
    return { topic: t, windowSec: W, from, to, series: seriesFor(t, from, to) };
  }
  if ((m = /^topics\/([^/]+)\/loss$/.exec(path))) {
    const t = decodeURIComponent(m[1]);
    return { topic: t, source: q.get('source'), target: q.get('target'), windows: lossFor(t, q.get('source'), q.get('target'), from, to) };
  }
  if ((m = /^topics\/([^/]+)\/windows\/(\d+)\/partitions$/.exec(path))) {
    const t = decodeURIComponent(m[1]), w = Number(m[2]), tier = q.get('tier');
    if (tier === 'producer' || tier.startsWith('consumer')) return { topic: t, tier, window: w, partitions: [] };
    const total = windows(t, w, w + 1)[0]?.counts[tier] ?? 0;
    const parts = [];
    let left = total;
    for (let p = 0; p < 6; p++) {
      const c = p === 5 ? left : Math.floor(total / 6);
      left -= c;
      const first = 100000 * (p + 1) + Math.floor((w / W) % 100000) * 200;
      parts.push({ partition: p, count: c, firstOffset: first, lastOffset: first + c - 1 });
    }
    return { topic: t, tier, window: w, partitions: parts };
  }
  if (path === 'emitters') {
    const ems = [];
    TIERS.forEach((tier, i) => {
      for (let k = 0; k < (i === 0 ? 4 : 2); k++) {
        const stale = tier === 'replicator' && k === 1;
        ems.push({ emitterId: `${tier.replace(':', '-')}-host${k}-${1000 + k}`, tier, datacenter: 'dc1', cluster: i < 2 ? 'regional' : 'aggregate',
          hostname: `host-${i}-${k}`, lastSeq: 1200 + k * 7, missingRecords: stale ? 3 : 0, watermarkMs: Date.now() - (stale ? 900000 : 30000),
          lastSeenMs: Date.now() - (stale ? 900000 : 5000), stale, droppedRecords: 0, failedDeliveries: 0 });
      }
    });
    return { emitters: ems };
  }
  return [404, { error: { code: 'not_found', message: 'no such endpoint' } }];
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST' && url.pathname === '/dev/extra-record') {
    const q = url.searchParams;
    const key = `${q.get('topic')}|${q.get('window')}|${q.get('tier')}`;
    extra.set(key, (extra.get(key) ?? 0) + Number(q.get('count') ?? 1));
    summaryCache.clear();
    res.writeHead(204);
    return res.end();
  }
  if (url.pathname.startsWith('/api/v1/')) {
    let body = api(url.pathname.slice(8), url.searchParams), status = 200;
    if (Array.isArray(body)) [status, body] = body;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify(body));
  }
  const file = join(dist, normalize(url.pathname === '/' ? '/index.html' : url.pathname));
  if (!file.startsWith(dist) || !existsSync(file)) { res.writeHead(404); return res.end('not found'); }
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' });
  res.end(readFileSync(file));
}).listen(port, '127.0.0.1', () => console.log(`dashboard dev server: http://127.0.0.1:${port}/ (${nTopics} synthetic topics)`));
