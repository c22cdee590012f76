// Browser test of the dashboard's missing messages (the window diff), against
// a running Chaperone web server whose store and clusters
// chaperone-test-read-fixture filled (tests/e2e/diff_browser.sh sets it up).
// playwright-core drives the system's Chromium (never a downloaded browser).
//
// Parameters (environment):
//   CHAPERONE_DASHBOARD_URL  the server, e.g. http://127.0.0.1:8080/ (required)
//   CHAPERONE_FIXTURE        the fixture's JSON output, run with --events (required):
//                            the oracle (the ids it dropped and duplicated, where
//                            it produced every message, at what event time)
//   CHAPERONE_TOPIC          the fixture's topic (required)
//   CHAPERONE_ARTIFACTS      where screenshots go (default ../../build/test-artifacts)
//   CHROMIUM                 the browser (default /usr/bin/chromium)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
for (const v of ['CHAPERONE_DASHBOARD_URL', 'CHAPERONE_FIXTURE', 'CHAPERONE_TOPIC']) {
  if (!process.env[v]) {
    console.error(`diff.test: set ${v} (tests/e2e/diff_browser.sh sets every parameter)`);
    process.exit(2);
  }
}
const base = process.env.CHAPERONE_DASHBOARD_URL;
const baseUrl = base.endsWith('/') ? base : base + '/';
const topic = process.env.CHAPERONE_TOPIC;
const artifacts = resolve(process.env.CHAPERONE_ARTIFACTS || join(here, '..', '..', 'build', 'test-artifacts'));
mkdirSync(artifacts, { recursive: true });

// The oracle: the fixture's own account of what it did.
const fixture = JSON.parse(readFileSync(process.env.CHAPERONE_FIXTURE, 'utf8'));
const windowSec = fixture.window_sec;
const produced = new Map(); // id -> {partition, offset, window}
for (const [id, partition, offset, eventMs] of fixture.events) {
  produced.set(id, { partition, offset, window: Math.floor(eventMs / 1000 / windowSec) * windowSec });
}
const idsIn = (ids, w) => ids.filter((id) => produced.get(id).window === w).sort((a, b) => a - b);
// The window with the most net loss (more dropped than duplicated there, so that the counts show it as loss).
const windows = Array.from({ length: fixture.windows }, (_, k) => fixture.start_sec + k * windowSec);
const lossWindow = windows
  .map((w) => ({ w, net: idsIn(fixture.dropped, w).length - idsIn(fixture.duplicated, w).length }))
  .sort((a, b) => b.net - a.net || a.w - b.w)[0];
// And the window with the most net duplication, when there is one.
const dupWindow = windows
  .map((w) => ({ w, net: idsIn(fixture.duplicated, w).length - idsIn(fixture.dropped, w).length }))
  .sort((a, b) => b.net - a.net || a.w - b.w)[0];
const range = { from: fixture.start_sec - windowSec, to: fixture.start_sec + (fixture.windows + 1) * windowSec };

let browser;
let page;
let pageErrors = [];
let clicks = 0;

async function shot(name) {
  const file = join(artifacts, `diff-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot ${file}`);
}

// A click of the user's: counted.
async function click(locatorOrPoint) {
  clicks++;
  if ('x' in locatorOrPoint) await page.mouse.click(locatorOrPoint.x, locatorOrPoint.y);
  else await locatorOrPoint.click();
}

before(async () => {
  assert.ok(lossWindow.net > 0, `the fixture dropped more than it duplicated in some window: ${JSON.stringify(fixture.dropped)}`);
  browser = await launchChromium(60_000);
  ({ page, pageErrors } = browser);
  console.log(`# server ${baseUrl}, topic ${topic}, window ${lossWindow.w}: dropped ${idsIn(fixture.dropped, lossWindow.w)}, duplicated ${idsIn(fixture.duplicated, lossWindow.w)}`);
});

after(async () => {
  await browser?.close();
});

test('from a window with loss, two clicks list exactly its missing messages', async () => {
  const w = lossWindow.w;
  const dropped = idsIn(fixture.dropped, w);
  const duplicated = idsIn(fixture.duplicated, w);

  // The topic page over the fixture's windows: the loss is shaded on the counts chart.
  await page.goto(baseUrl + `#/topic/${encodeURIComponent(topic)}?range=custom&from=${range.from}&to=${range.to}`);
  const band = page.locator(`[data-testid="counts-chart"] .band[data-window="${w}"][data-kind="loss"]`);
  await band.waitFor();
  const box = await band.boundingBox();

  // Click 1: the loss. The window's drill-down opens.
  await click({ x: box.x + box.width / 2, y: box.y + box.height / 2 });
  await page.waitForFunction((win) => location.hash.includes('w=' + win), w);
  const action = page.locator('[data-testid="drilldown"] [data-testid="show-missing"][data-source="regional"][data-target="aggregate"]');
  await action.waitFor();
  assert.equal((await action.textContent()).trim(), 'Show the missing messages');
  await shot('drilldown');

  // Click 2: "Show the missing messages". The list, read from both clusters.
  await click(action);
  await page.waitForFunction(() => location.hash.startsWith('#/diff/'));
  await page.locator('[data-testid="diff-kpi-missing"]').waitFor();
  assert.equal(clicks, 2);

  const rows = await page.$$eval('[data-testid="diff-missing"] tbody tr', (trs) =>
    trs.map((tr) => ({
      key: tr.getAttribute('data-key'),
      places: [...tr.querySelectorAll('li[data-partition]')].map((li) => [Number(li.dataset.partition), Number(li.dataset.offset)]),
      text: tr.textContent,
    })),
  );
  assert.deepEqual(
    rows.map((r) => r.key).sort(),
    dropped.map((id) => `k-${id}`).sort(),
    'the missing messages listed are exactly the ids the fixture dropped in that window',
  );
  for (const r of rows) {
    const id = Number(r.key.slice(2));
    const p = produced.get(id);
    assert.deepEqual(r.places, [[p.partition, p.offset]], `k-${id} is listed where the fixture produced it in the regional cluster`);
    assert.ok(r.text.includes(`"id":${id},`), `k-${id}'s value is previewed: ${r.text.slice(0, 200)}`);
  }
  const dupKeys = await page.$$eval('[data-testid="diff-duplicated"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-key')));
  assert.deepEqual(dupKeys.sort(), duplicated.map((id) => `k-${id}`).sort(), 'the duplicated messages are the ids the fixture copied twice there');
  const kpi = async (id) => (await page.textContent(`[data-testid="${id}"] .kpi-value`)).trim();
  assert.equal((await page.textContent('#diff-title')).trim(), 'Messages missing from aggregate');
  assert.equal(await kpi('diff-kpi-missing'), String(dropped.length));
  assert.equal(await kpi('diff-kpi-duplicated'), String(duplicated.length));
  const inWindow = [...produced.values()].filter((p) => p.window === w).length;
  assert.equal(await kpi('diff-kpi-source'), new Intl.NumberFormat('en-US').format(inWindow));
  assert.equal(await page.locator('[data-testid="diff-spans"]').count(), 0, 'every span read back as the audit counted it');
  assert.deepEqual(pageErrors, []);
  await shot('missing-messages');

  // The breadcrumb goes back to the window.
  await page.click('[data-testid="diff-back"]');
  await page.waitForFunction((win) => location.hash.startsWith('#/topic/') && location.hash.includes('w=' + win), w);
  await page.locator('[data-testid="drilldown"]:not([hidden])').waitFor();
});

test('a window with duplication lists its duplicated messages with every copy', { skip: dupWindow.net > 0 ? false : 'no window with more duplicated than dropped' }, async () => {
  const w = dupWindow.w;
  const dropped = idsIn(fixture.dropped, w);
  const duplicated = idsIn(fixture.duplicated, w);
  await page.goto('about:blank');
  await page.goto(baseUrl + `#/topic/${encodeURIComponent(topic)}?range=custom&from=${range.from}&to=${range.to}`);
  const band = page.locator(`[data-testid="counts-chart"] .band[data-window="${w}"][data-kind="dup"]`);
  await band.waitFor();
  const box = await band.boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const action = page.locator('[data-testid="drilldown"] [data-testid="show-missing"][data-source="regional"][data-target="aggregate"]');
  await action.waitFor();
  assert.equal((await action.textContent()).trim(), dropped.length ? 'Show the missing messages' : 'Show the duplicated messages');
  await action.click();
  await page.locator('[data-testid="diff-duplicated"]').waitFor();
  const rows = await page.$$eval('[data-testid="diff-duplicated"] tbody tr', (trs) =>
    trs.map((tr) => ({
      key: tr.getAttribute('data-key'),
      cells: [...tr.children].map((c) => c.textContent.trim()),
      targets: tr.querySelectorAll('td:nth-child(6) li[data-partition]').length,
      source: [...tr.querySelectorAll('td:nth-child(5) li[data-partition]')].map((li) => [Number(li.dataset.partition), Number(li.dataset.offset)]),
    })),
  );
  assert.deepEqual(rows.map((r) => r.key).sort(), duplicated.map((id) => `k-${id}`).sort());
  for (const r of rows) {
    const p = produced.get(Number(r.key.slice(2)));
    assert.deepEqual(r.source, [[p.partition, p.offset]], `${r.key}: its one copy at regional, where the fixture produced it`);
    assert.equal(r.targets, 2, `${r.key}: both copies at aggregate are listed`);
    assert.equal(r.cells[2], '+1');
    assert.equal(r.cells[3], '1 / 2');
  }
  const missing = await page.$$eval('[data-testid="diff-missing"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-key')));
  assert.deepEqual(missing.sort(), dropped.map((id) => `k-${id}`).sort());
  if (!dropped.length) assert.equal((await page.textContent('#diff-title')).trim(), 'Messages duplicated in aggregate');
  assert.deepEqual(pageErrors, []);
  await shot('duplicated-messages');
});

test('a diff the server refuses shows its reason', async () => {
  await page.goto('about:blank');
  await page.goto(baseUrl + `#/diff/${encodeURIComponent(topic)}?w=${lossWindow.w}&source=regional&target=consumer`);
  const banner = page.locator('[data-testid="diff-error"]:not([hidden])');
  await banner.waitFor();
  assert.match(await banner.textContent(), /target tier 'consumer'/);
  await shot('refused');
  assert.equal(await page.locator('[data-testid="diff-loading"]').count(), 0);
});

test('the missing messages in the dark theme', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('about:blank');
  await page.goto(baseUrl + `#/diff/${encodeURIComponent(topic)}?w=${lossWindow.w}&source=regional&target=aggregate`);
  await page.locator('[data-testid="diff-missing"]').waitFor();
  await shot('missing-messages-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(pageErrors, []);
});
