// Browser tests of the dashboard, against a running Chaperone web server.
// playwright-core drives the system's Chromium (never a downloaded browser).
//
// Parameters (environment):
//   CHAPERONE_DASHBOARD_URL  the server, e.g. http://127.0.0.1:8080/ (required)
//   CHAPERONE_TOPIC          the topic to open (default: the first topic with two
//                            or more tiers and a window final at every tier)
//   CHAPERONE_LOSS_HOOK      a shell command that creates loss, run with LOSS_TOPIC,
//                            LOSS_WINDOW (a final window), LOSS_TIER (the topic's
//                            first tier) and WINDOW_SEC set; e.g. make_loss.sh,
//                            which publishes one extra producer-tier audit record.
//                            Without it the loss test is skipped.
//   CHAPERONE_ALERT_HOOK     a shell command that raises one firing alert of the loss
//                            detector, run with ALERT_TOPIC, ALERT_SOURCE, ALERT_TARGET,
//                            ALERT_FIRST, ALERT_LAST (final windows), ALERT_KIND,
//                            ALERT_SEVERITY and ALERT_LOST set, printing the alert's id
//                            last; e.g. make_alert.sh. Without it the alerts test is skipped.
//   CHAPERONE_WAIT_FINAL_SEC how long to wait for a final window (default 300)
//   CHAPERONE_ARTIFACTS      where screenshots go (default ../../build/test-artifacts)
//   CHROMIUM                 the browser (default /usr/bin/chromium)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.CHAPERONE_DASHBOARD_URL;
if (!base) {
  console.error('dashboard.test: set CHAPERONE_DASHBOARD_URL to the Chaperone web server (e.g. http://127.0.0.1:8080/)');
  process.exit(2);
}
const baseUrl = base.endsWith('/') ? base : base + '/';
const artifacts = resolve(process.env.CHAPERONE_ARTIFACTS || join(here, '..', '..', 'build', 'test-artifacts'));
const lossHook = process.env.CHAPERONE_LOSS_HOOK || '';
const alertHook = process.env.CHAPERONE_ALERT_HOOK || '';
mkdirSync(artifacts, { recursive: true });

const fmtInt = new Intl.NumberFormat('en-US');
let browser;
let context;
let page;
let pageErrors = [];

async function api(path, params = {}) {
  const url = new URL('api/v1/' + path, baseUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  const resp = await fetch(url);
  const body = await resp.json();
  assert.equal(resp.status, 200, `GET ${url}: ${resp.status} ${JSON.stringify(body)}`);
  return body;
}

async function shot(name) {
  const file = join(artifacts, `dashboard-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot ${file}`);
}

async function waitFor(what, fn, timeoutMs = 60_000, everyMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Windows final at every tier of a series response.
function finalWindows(series) {
  const byWindow = new Map();
  for (const s of series.series) {
    for (const p of s.points) {
      const e = byWindow.get(p.window) ?? { n: 0, final: true };
      e.n += 1;
      e.final &&= p.final;
      byWindow.set(p.window, e);
    }
  }
  return [...byWindow].filter(([, e]) => e.final && e.n === series.series.length).map(([w]) => w).sort((a, b) => a - b);
}

// A fixed range covering the last 6 hours, shared by the page and the API calls.
function fixedRange(windowSec) {
  const now = Math.floor(Date.now() / 1000);
  const to = (Math.floor(now / windowSec) + 1) * windowSec;
  return { from: to - 6 * 3600, to };
}

let topic;
let windowSec = 600;

before(async () => {
  browser = await launchChromium(30_000);
  ({ context, page, pageErrors } = browser);

  // The topic under test: given, or the first with two tiers and a final
  // window (a freshly started pipeline needs a window end plus the grace period).
  const waitSec = Number(process.env.CHAPERONE_WAIT_FINAL_SEC || 300);
  const listed = await waitFor(`a topic with two tiers and a final window (${waitSec} s)`, async () => {
    const r = await api('topics', { limit: 1000 });
    const ok = r.topics.filter((t) => t.tiers.length >= 2 && t.lastFinalWindow !== null);
    if (process.env.CHAPERONE_TOPIC) return ok.some((t) => t.topic === process.env.CHAPERONE_TOPIC) ? r : null;
    return ok.length ? r : null;
  }, waitSec * 1000, 2000);
  windowSec = listed.windowSec;
  topic = process.env.CHAPERONE_TOPIC || listed.topics.find((t) => t.tiers.length >= 2 && t.lastFinalWindow !== null).topic;
  console.log(`# server ${baseUrl}, topic ${topic}, windows of ${windowSec} s`);
});

after(async () => {
  await browser?.close();
});

test('the overview lists the topics of the API with their status', async () => {
  const expected = await api('topics', { limit: 100 });
  await page.goto(baseUrl + '#/');
  await page.waitForSelector('[data-testid="topics-table"] tbody tr');
  const rows = await page.$$eval('[data-testid="topics-table"] tbody tr', (trs) =>
    trs.map((tr) => ({ topic: tr.getAttribute('data-topic'), status: tr.querySelector('.badge')?.getAttribute('data-status') })),
  );
  assert.deepEqual(
    rows.map((r) => r.topic),
    expected.topics.map((t) => t.topic),
    'the first page shows the same topics, in the same order, as GET /api/v1/topics',
  );
  for (const r of rows) assert.match(r.status, /^(healthy|loss|delay|no_data|stale_emitter)$/);
  const pager = await page.textContent('[data-testid="pager-text"]');
  assert.ok(pager.endsWith(`of ${fmtInt.format(expected.total)}`), `pager "${pager}" shows the total ${expected.total}`);
  assert.deepEqual(pageErrors, []);
  await shot('overview');
});

test('the overview filters by name and status and sorts, keeping the state in the URL', async () => {
  await page.goto(baseUrl + '#/');
  await page.waitForSelector('[data-testid="topics-table"] tbody tr');
  await page.fill('#topic-search', topic);
  await page.waitForFunction((t) => location.hash.includes('q=' + encodeURIComponent(t)), topic);
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('[data-testid="topics-table"] tbody tr')].every((tr) => tr.getAttribute('data-topic').toLowerCase().includes(t.toLowerCase())),
    topic,
  );
  const names = await page.$$eval('[data-testid="topics-table"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-topic')));
  assert.ok(names.includes(topic), `filtering by "${topic}" keeps it listed`);

  const status = (await api('topics', { q: topic, limit: 1000 })).topics.find((t) => t.topic === topic).status;
  await page.click(`.status-filter [data-status="${status}"]`);
  await page.waitForFunction((s) => location.hash.includes('status=' + s), status);
  await page.waitForSelector(`[data-testid="topics-table"] tbody tr[data-topic="${topic}"]`);
  const statuses = await page.$$eval('[data-testid="topics-table"] tbody tr .badge', (bs) => bs.map((b) => b.getAttribute('data-status')));
  assert.ok(statuses.every((s) => s === status), `status filter ${status}: ${statuses}`);

  await page.click('button.sort[data-sort="p99"]');
  await page.waitForFunction(() => location.hash.includes('sort=p99'));
  // A copied link opens the same view.
  const link = page.url();
  const other = await context.newPage();
  await other.goto(link);
  await other.waitForSelector(`[data-testid="topics-table"] tbody tr[data-topic="${topic}"]`);
  assert.equal(await other.inputValue('#topic-search'), topic);
  assert.equal(await other.getAttribute(`.status-filter [data-status="${status}"]`, 'aria-pressed'), 'true');
  assert.equal(await other.getAttribute('button.sort[data-sort="p99"]', 'class'), 'sort active');
  await other.close();
});

test('the time range and auto-refresh are set from the toolbar', async () => {
  await page.goto('about:blank');
  await page.goto(baseUrl + '#/');
  await page.waitForSelector('[data-testid="topics-table"] tbody tr');
  await page.click('[data-range="1h"]');
  await page.waitForFunction(() => location.hash.includes('range=1h'));
  assert.equal(await page.getAttribute('[data-range="1h"]', 'aria-pressed'), 'true');
  await page.selectOption('select[aria-label="Auto-refresh interval"]', '10');
  await page.check('#auto-refresh');
  await page.waitForFunction(() => location.hash.includes('refresh=10'));
  // The data is reloaded by itself: the load time in the toolbar moves on.
  const first = await page.textContent('[data-testid="load-status"]');
  await page.waitForFunction(
    (t) => {
      const now = document.querySelector('[data-testid="load-status"]').textContent;
      return now.startsWith('Updated') && now !== t;
    },
    first,
    { timeout: 30_000 },
  );
  await page.uncheck('#auto-refresh');
  await page.waitForFunction(() => !location.hash.includes('refresh='));
});

// Reads what the counts and latency charts draw.
async function chartData() {
  return page.evaluate(() => {
    const view = window.chaperoneDashboard.current;
    const read = (c) => ({ labels: c.plot.series.slice(1).map((s) => s.label), data: c.plot.data.map((a) => Array.from(a)) });
    const { counts, latency } = view.charts();
    return { counts: read(counts), latency: read(latency) };
  });
}

async function openTopic(range, extra = '') {
  const hash = `#/topic/${encodeURIComponent(topic)}?range=custom&from=${range.from}&to=${range.to}${extra}`;
  await page.goto('about:blank'); // a fresh load even when only the data changed
  await page.goto(baseUrl + hash);
  await page.waitForSelector('[data-testid="windows-table"] tbody tr');
  await page.waitForFunction(() => window.chaperoneDashboard?.current?.charts?.().counts.plot?.data?.[0]?.length > 0);
}

test('the topic page draws one series per tier with the values of the API', async () => {
  const range = fixedRange(windowSec);
  await openTopic(range);
  const series = await api(`topics/${encodeURIComponent(topic)}/series`, range);
  const { counts, latency } = await chartData();
  const tiers = series.series.map((s) => s.tier);
  assert.deepEqual(counts.labels, tiers, 'one counts series per tier, in pipeline order');
  for (const t of tiers) assert.ok(latency.labels.includes(`${t} p99`), `latency chart draws ${t} p99`);

  // Windows still open may grow between the two reads: compare the final ones.
  const finals = finalWindows(series);
  assert.ok(finals.length > 0, 'at least one final window in the last 6 hours');
  const xs = counts.data[0];
  for (const w of finals) {
    const i = xs.indexOf(w);
    assert.ok(i >= 0, `window ${w} is on the chart`);
    series.series.forEach((s, k) => {
      const p = s.points.find((pt) => pt.window === w);
      assert.equal(counts.data[k + 1][i], p.count, `${s.tier} count at ${w}`);
      assert.equal(latency.data[latency.labels.indexOf(`${s.tier} p99`) + 1][i], p.p99, `${s.tier} p99 at ${w}`);
    });
  }
  // The windows table shows the same counts.
  const w = finals[finals.length - 1];
  for (const s of series.series) {
    const cell = await page.textContent(`[data-testid="windows-table"] tr[data-window="${w}"] td[data-tier="${s.tier}"]`);
    assert.equal(cell.trim(), fmtInt.format(s.points.find((pt) => pt.window === w).count));
  }
  assert.deepEqual(pageErrors, []);
  await shot('topic');
});

test('a window drills down to its partitions and offsets', async () => {
  const range = fixedRange(windowSec);
  const series = await api(`topics/${encodeURIComponent(topic)}/series`, range);
  const finals = finalWindows(series);
  const w = finals[finals.length - 1];
  await openTopic(range);
  await page.click(`[data-testid="windows-table"] tr[data-window="${w}"] th a`);
  await page.waitForFunction((win) => location.hash.includes('w=' + win), w);
  await page.waitForSelector('[data-testid="drilldown"]:not([hidden]) [data-testid="partitions"] :is(table, p:not(:empty))');
  let checked = 0;
  for (const s of series.series) {
    const parts = await api(`topics/${encodeURIComponent(topic)}/windows/${w}/partitions`, { tier: s.tier });
    if (parts.partitions.length === 0) continue;
    await page.click(`[data-testid="drilldown"] .tab[data-tier="${s.tier}"]`);
    await page.waitForSelector(`[data-testid="drilldown"] .tab[data-tier="${s.tier}"][aria-selected="true"]`);
    const rows = await page.$$eval('[data-testid="partitions"] tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())),
    );
    const want = [...parts.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => [String(p.partition), fmtInt.format(p.count), String(p.firstOffset), String(p.lastOffset), fmtInt.format(p.lastOffset - p.firstOffset + 1)]);
    assert.deepEqual(rows, want, `partitions of ${s.tier} in window ${w}`);
    checked++;
  }
  console.log(`# partitions compared for ${checked} tier(s)`);
  await page.locator('[data-testid="drilldown"]').scrollIntoViewIfNeeded();
  await shot('drilldown');
});

test('a window with loss is shaded and labelled', { skip: lossHook ? false : 'CHAPERONE_LOSS_HOOK not set' }, async () => {
  const range = fixedRange(windowSec);
  const series = await api(`topics/${encodeURIComponent(topic)}/series`, range);
  const tiers = series.series.map((s) => s.tier);
  const finals = finalWindows(series);
  assert.ok(finals.length > 0, 'a final window to put loss in');
  const w = finals[finals.length - 1];
  const lossOf = async () =>
    (await api(`topics/${encodeURIComponent(topic)}/loss`, { source: tiers[0], target: tiers[1], ...range })).windows.find((x) => x.window === w);
  const before = (await lossOf())?.lost ?? 0;

  execSync(lossHook, {
    stdio: 'inherit',
    shell: '/bin/bash',
    env: { ...process.env, LOSS_TOPIC: topic, LOSS_WINDOW: String(w), LOSS_TIER: tiers[0], WINDOW_SEC: String(windowSec) },
  });
  const after = await waitFor(`loss between ${tiers[0]} and ${tiers[1]} in window ${w}`, async () => {
    const lw = await lossOf();
    return lw && lw.final && lw.lost > before ? lw : null;
  });

  await openTopic(range);
  const band = page.locator(`[data-testid="counts-chart"] .band[data-window="${w}"][data-kind="loss"]`);
  await band.waitFor();
  const box = await band.boundingBox();
  const plot = await page.locator('[data-testid="counts-chart"] .u-over').boundingBox();
  assert.ok(box.width >= 3 && box.height > 0.9 * plot.height, `the band covers the plot height (${JSON.stringify(box)})`);
  const label = await page.textContent(`[data-testid="counts-chart"] .band-label[data-window="${w}"]`).catch(() => null);
  if (label !== null) assert.match(label, new RegExp(`−${fmtInt.format(after.lost)}`));
  const row = page.locator(`[data-testid="windows-table"] tr[data-window="${w}"]`);
  assert.match(await row.getAttribute('class'), /\bbad\b/);
  assert.match(await row.textContent(), new RegExp(`−${fmtInt.format(after.lost)}`));
  await page.locator('[data-testid="counts-chart"]').scrollIntoViewIfNeeded();
  await shot('loss');
});

test('a firing alert shows on the overview, on the Alerts page and on its topic chart', { skip: alertHook ? false : 'CHAPERONE_ALERT_HOOK not set' }, async () => {
  const range = fixedRange(windowSec);
  const series = await api(`topics/${encodeURIComponent(topic)}/series`, range);
  const tiers = series.series.map((s) => s.tier);
  const finals = finalWindows(series);
  assert.ok(finals.length > 0, 'a final window for the alert');
  const last = finals[finals.length - 1];
  const first = finals.length > 1 ? finals[finals.length - 2] : last;
  const out = execSync(alertHook, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    shell: '/bin/bash',
    env: {
      ...process.env,
      ALERT_TOPIC: topic,
      ALERT_SOURCE: tiers[0],
      ALERT_TARGET: tiers[1],
      ALERT_FIRST: String(first),
      ALERT_LAST: String(last),
      ALERT_KIND: 'loss',
      ALERT_SEVERITY: 'critical',
      ALERT_LOST: '1',
    },
  });
  const id = Number(out.trim().split('\n').pop());
  assert.ok(Number.isInteger(id) && id > 0, `the hook printed the alert's id: ${out}`);
  const listed = await api('alerts', { topic, state: 'firing' });
  const alert = listed.alerts.find((a) => a.id === id);
  assert.ok(alert, `GET /api/v1/alerts lists alert ${id}`);
  assert.equal(alert.firstWindow, first);
  assert.equal(alert.lastWindow, last);
  const summary = (await api('topics', { q: topic, limit: 1000 })).topics.find((t) => t.topic === topic);
  assert.ok(summary.alerts.firing >= 1, `the overview counts the firing alert: ${JSON.stringify(summary.alerts)}`);
  assert.equal(summary.alerts.severity, 'critical');

  // The overview: the topic's row carries a badge with the count, coloured by the worst severity.
  await page.goto('about:blank');
  await page.goto(baseUrl + `#/?q=${encodeURIComponent(topic)}`);
  const badge = page.locator(`[data-testid="topics-table"] tbody tr[data-topic="${topic}"] [data-testid="alert-badge"]`);
  await badge.waitFor();
  assert.equal(await badge.getAttribute('data-severity'), 'critical');
  assert.equal(Number(await badge.getAttribute('data-count')), summary.alerts.firing);
  // Filled with the colour the dashboard gives critical (and loss): its --bad.
  const [badgeColour, criticalColour] = await badge.evaluate((el) => {
    const probe = document.createElement('span');
    probe.className = 'sev sev-critical';
    document.body.append(probe);
    const c = getComputedStyle(probe).color;
    probe.remove();
    return [getComputedStyle(el).backgroundColor, c];
  });
  assert.equal(badgeColour, criticalColour, 'the badge is filled in the critical colour');
  await shot('overview-alert');

  // The Alerts page, from the header: newest first, the alert listed with its figures.
  await page.click('.app-nav a[href^="#/alerts"]');
  await page.waitForFunction(() => location.hash.startsWith('#/alerts'));
  const row = page.locator(`[data-testid="alerts-table"] tbody tr[data-alert-id="${id}"]`);
  await row.waitFor();
  const ids = await page.$$eval('[data-testid="alerts-table"] tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-alert-id'))));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  const text = await row.textContent();
  for (const want of [topic, 'Firing', 'Critical', 'Loss', `${tiers[0]} → ${tiers[1]}`, '−1 lost', '2 windows']) {
    if (want === '2 windows' && first === last) continue;
    assert.ok(text.includes(want), `the row says "${want}": ${text}`);
  }
  await page.click('.state-filter [data-state="firing"]');
  await page.waitForFunction(() => location.hash.includes('state=firing'));
  await row.waitFor();
  const states = await page.$$eval('[data-testid="alerts-table"] tbody tr [data-state]', (els) => els.map((e) => e.getAttribute('data-state')));
  assert.ok(states.every((s) => s === 'firing'), `only firing alerts: ${states}`);
  assert.match(await page.textContent('[data-testid="alerts-summary"]'), /firing/);
  assert.deepEqual(pageErrors, []);
  await shot('alerts');

  // Its row opens the topic at the alert's windows: a marker spans them on the counts chart.
  await row.locator('[data-testid="alert-link"]').click();
  await page.waitForFunction((t) => location.hash.startsWith('#/topic/' + encodeURIComponent(t) + '?') && location.hash.includes('w='), topic);
  assert.ok(page.url().includes(`w=${first}`), `drilled into the alert's first window: ${page.url()}`);
  const marker = page.locator(`[data-testid="counts-chart"] .alert-marker[data-alert-id="${id}"]`);
  await marker.waitFor();
  assert.equal(await marker.getAttribute('data-kind'), 'loss');
  assert.equal(Number(await marker.getAttribute('data-first')), first);
  assert.equal(Number(await marker.getAttribute('data-last')), last);
  const box = await marker.boundingBox();
  const plot = await page.locator('[data-testid="counts-chart"] .u-over').boundingBox();
  assert.ok(
    box.width >= 6 && box.x >= plot.x - 1 && box.x + box.width <= plot.x + plot.width + 1 && box.y + box.height <= plot.y + plot.height + 1,
    `the marker lies inside the plot (${JSON.stringify(box)} in ${JSON.stringify(plot)})`,
  );
  // Two windows wide when it spans two: about twice one window's band.
  const xs = (await chartData()).counts.data[0];
  if (first !== last && xs.includes(first) && xs.includes(last)) {
    const perWindow = plot.width / Math.max(1, (xs[xs.length - 1] - xs[0]) / windowSec + 1);
    assert.ok(box.width > 1.2 * perWindow, `the marker spans both windows (${box.width} px, a window ≈ ${perWindow.toFixed(1)} px)`);
  }
  await page.waitForSelector(`[data-testid="topic-alerts"]:not([hidden]) li[data-alert-id="${id}"]`);
  await page.waitForSelector('[data-testid="drilldown"]:not([hidden])');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator('[data-testid="counts-chart"]').scrollIntoViewIfNeeded();
  assert.deepEqual(pageErrors, []);
  await shot('alert-marker');
});

test('the dark theme renders', async () => {
  const range = fixedRange(windowSec);
  await page.emulateMedia({ colorScheme: 'dark' });
  await openTopic(range);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(246, 247, 249)', 'dark background');
  await shot('topic-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(pageErrors, []);
});
