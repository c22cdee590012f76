// The topic page: counts per tier over time (loss and duplication shaded,
// the loss detector's alerts marked under them), latency percentiles per tier, the windows table, drill-down from a window
// to its partitions and offsets, and the emitters reporting for the topic.

import { alertBadge, alertFigures, alertPair, kindChip, kindLabel, severityChip, stateBadge } from './alerts';
import {
  api,
  type Alert,
  type Emitter,
  type LossWindow,
  type PartitionsResponse,
  type SeriesPoint,
  type SeriesResponse,
  type TopicSummary,
} from './api';
import { Chart, tierColor, tierDash, type Band, type LineSeries, type Marker } from './charts';
import { diffHref } from './diff';
import { h, replace, segButton } from './dom';
import { fmtAgo, fmtDuration, fmtInt, fmtMs, fmtPct, fmtTime, type Zone } from './format';
import { hrefFor, resolveRange, sharedParams, withParams, zone, type Route } from './state';
import { statusBadge } from './overview';
import { Loader, type View, type ViewContext } from './view';

const PERCENTILES = ['p50', 'p95', 'p99'] as const;
type Pct = (typeof PERCENTILES)[number];
const PCT_STYLE: Record<Pct, { dash: number[]; width: number }> = {
  p50: { dash: [2, 4], width: 1.5 },
  p95: { dash: [8, 4], width: 1.5 },
  p99: { dash: [], width: 2 },
};
const TABLE_PAGE = 100;

interface Pair {
  source: string;
  target: string;
  windows: Map<number, LossWindow>;
  error?: string;
}

interface Loaded {
  series: SeriesResponse;
  tiers: string[];
  xs: number[];
  points: Map<string, Map<number, SeriesPoint>>;
  pairs: Pair[];
  summary: TopicSummary | null;
  emitters: Emitter[] | null;
  emittersError?: string;
  alerts: Alert[]; // the topic's alerts with a window in the range, newest first
}

// The topic's alerts read with the page: those updated since the range began
// (an alert is updated after its last window is judged, so every alert with a
// window in the range is among them).
const TOPIC_ALERTS_LIMIT = 1000;

export class TopicView implements View {
  readonly el: HTMLElement;
  private route!: Route;
  private data: Loaded | null = null;
  private readonly loader: Loader;
  private drillAbort: AbortController | null = null;
  private loadKey = '';
  private drillKey = '';
  private tableRows = TABLE_PAGE;
  private scrollToDrill = false;
  private partitions: Map<string, PartitionsResponse | string> | null = null;
  private countsChart: Chart;
  private latencyChart: Chart;
  private readonly headEl: HTMLElement;
  private readonly kpiEl: HTMLElement;
  private readonly errorEl: HTMLElement;
  private readonly countsCaption: HTMLElement;
  private readonly alertsEl: HTMLElement;
  private readonly markerLegend: HTMLElement;
  private readonly latencyControls: HTMLElement;
  private readonly windowsControls: HTMLElement;
  private readonly windowsWrap: HTMLElement;
  private readonly drillEl: HTMLElement;
  private readonly emittersEl: HTMLElement;

  constructor(
    private readonly ctx: ViewContext,
    private readonly topic: string,
  ) {
    this.countsChart = new Chart(this.emptyChartOptions('count'));
    this.latencyChart = new Chart(this.emptyChartOptions('ms'));
    this.headEl = h('div', { class: 'view-head' });
    this.kpiEl = h('div', { class: 'kpis', 'data-testid': 'kpis' });
    this.errorEl = h('div', { class: 'banner error', role: 'alert', hidden: true });
    this.loader = new Loader(this.ctx, this.errorEl);
    this.countsCaption = h('figcaption', { class: 'chart-caption', 'data-testid': 'counts-caption' });
    this.alertsEl = h('div', { class: 'topic-alerts', 'data-testid': 'topic-alerts', hidden: true });
    this.markerLegend = h(
      'span',
      { class: 'marker-legend', hidden: true },
      h('span', { class: 'swatch marker-swatch' }),
      'alert firing',
      h('span', { class: 'swatch marker-swatch resolved' }),
      'resolved',
    );
    this.latencyControls = h('div', { class: 'card-tools' });
    this.windowsControls = h('div', { class: 'card-tools' });
    this.windowsWrap = h('div', { class: 'table-wrap' });
    this.drillEl = h('section', { class: 'card drill', hidden: true, 'aria-labelledby': 'drill-title', 'data-testid': 'drilldown' });
    this.emittersEl = h('div');
    this.countsChart.el.dataset.testid = 'counts-chart';
    this.latencyChart.el.dataset.testid = 'latency-chart';
    this.el = h(
      'section',
      { class: 'view topic' },
      this.headEl,
      this.errorEl,
      this.kpiEl,
      h(
        'figure',
        { class: 'card', 'aria-labelledby': 'counts-title' },
        h(
          'div',
          { class: 'card-head' },
          h('h2', { id: 'counts-title' }, 'Messages per window, by tier'),
          h(
            'div',
            { class: 'band-legend', 'aria-hidden': 'true' },
            h('span', { class: 'swatch band-loss' }),
            'loss',
            h('span', { class: 'swatch band-dup' }),
            'duplication',
            h('span', { class: 'swatch band-open' }),
            'difference, window not final',
            this.markerLegend,
          ),
        ),
        this.countsChart.el,
        this.countsCaption,
        this.alertsEl,
      ),
      h(
        'figure',
        { class: 'card', 'aria-labelledby': 'latency-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'latency-title' }, 'Latency percentiles per tier'), this.latencyControls),
        this.latencyChart.el,
        h('figcaption', { class: 'chart-caption' }, 'Time from event to observation at each tier. Click a legend entry to hide or show a line; drag to zoom, double-click to reset.'),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'windows-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'windows-title' }, 'Windows'), this.windowsControls),
        this.windowsWrap,
      ),
      this.drillEl,
      h('section', { class: 'card', 'aria-labelledby': 'emitters-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'emitters-title' }, 'Emitters')), this.emittersEl),
    );
    this.renderHead();
  }

  update(route: Route): void {
    this.route = route;
    const key = ['range', 'from', 'to'].map((k) => route.params.get(k) ?? '').join('|');
    if (key !== this.loadKey) {
      this.load();
    } else {
      this.render();
    }
  }

  refresh(): void {
    this.load();
  }

  redraw(): void {
    // Colours come from CSS variables: rebuild the charts.
    this.countsChart.destroy();
    this.latencyChart.destroy();
    const counts = new Chart(this.emptyChartOptions('count'));
    const latency = new Chart(this.emptyChartOptions('ms'));
    counts.el.dataset.testid = 'counts-chart';
    latency.el.dataset.testid = 'latency-chart';
    this.countsChart.el.replaceWith(counts.el);
    this.latencyChart.el.replaceWith(latency.el);
    this.countsChart = counts;
    this.latencyChart = latency;
    this.render();
  }

  destroy(): void {
    this.loader.cancel();
    this.drillAbort?.abort();
    this.countsChart.destroy();
    this.latencyChart.destroy();
  }

  // For the browser tests: what the charts draw.
  charts(): { counts: Chart; latency: Chart } {
    return { counts: this.countsChart, latency: this.latencyChart };
  }

  private get p(): URLSearchParams {
    return this.route.params;
  }

  private emptyChartOptions(kind: 'count' | 'ms') {
    return { title: '', xs: [], series: [], windowSec: 600, zone: 'utc' as Zone, yKind: kind };
  }

  private async load(): Promise<void> {
    this.loadKey = ['range', 'from', 'to'].map((k) => this.p.get(k) ?? '').join('|');
    const { from, to } = resolveRange(this.p, this.ctx.nowSec());
    await this.loader.run(
      `Cannot load topic “${this.topic}”`,
      (signal) => this.fetch(from, to, signal),
      (data) => {
        this.data = data;
        this.drillKey = ''; // partitions of the selected window may have grown
        this.render();
      },
      () => this.render(),
    );
  }

  private async fetch(from: number, to: number, signal: AbortSignal): Promise<Loaded> {
    const [series, summaryResp, emittersResp, alertsResp] = await Promise.all([
      api.series(this.topic, from, to, signal),
      api.topics({ q: this.topic, limit: 200, from, to }, signal).catch(() => null),
      api.emitters(signal).then(
        (r) => r,
        (e: unknown) => (e instanceof Error && e.name === 'AbortError' ? Promise.reject(e) : String((e as Error).message ?? e)),
      ),
      api.alerts({ topic: this.topic, since: from * 1000, limit: TOPIC_ALERTS_LIMIT }, signal).catch(() => null),
    ]);
    const tiers = series.series.map((s) => s.tier);
    const pairs: Pair[] = [];
    for (let i = 0; i + 1 < tiers.length; i++) pairs.push({ source: tiers[i], target: tiers[i + 1], windows: new Map() });
    await Promise.all(
      pairs.map(async (pair) => {
        try {
          const r = await api.loss(this.topic, pair.source, pair.target, from, to, signal);
          for (const w of r.windows) pair.windows.set(w.window, w);
        } catch (e) {
          if ((e as Error).name === 'AbortError') throw e;
          pair.error = (e as Error).message;
        }
      }),
    );
    const points = new Map<string, Map<number, SeriesPoint>>();
    const xsSet = new Set<number>();
    for (const s of series.series) {
      const m = new Map<number, SeriesPoint>();
      for (const pt of s.points) {
        m.set(pt.window, pt);
        xsSet.add(pt.window);
      }
      points.set(s.tier, m);
    }
    const tierSet = new Set(tiers);
    return {
      series,
      tiers,
      xs: [...xsSet].sort((a, b) => a - b),
      points,
      pairs,
      summary: summaryResp?.topics.find((t) => t.topic === this.topic) ?? null,
      emitters: typeof emittersResp === 'string' ? null : emittersResp.emitters.filter((e) => tierSet.has(e.tier)),
      emittersError: typeof emittersResp === 'string' ? emittersResp : undefined,
      alerts: (alertsResp?.alerts ?? []).filter(
        (a) => a.firstWindow !== null && a.lastWindow !== null && a.firstWindow < to && a.lastWindow + series.windowSec > from,
      ),
    };
  }

  private render(): void {
    this.renderHead();
    const d = this.data;
    if (!d) return;
    this.renderKpis(d);
    this.renderCharts(d);
    this.renderWindows(d);
    this.renderDrill(d);
    this.renderEmitters(d);
  }

  private renderHead(): void {
    const d = this.data;
    const shared = this.route ? sharedParams(this.p) : new URLSearchParams();
    const back = new URLSearchParams(sessionStorage.getItem('chaperone.overview') ?? '');
    for (const [k, v] of shared) back.set(k, v);
    const z = this.route ? zone(this.p) : 'utc';
    replace(
      this.headEl,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: hrefFor('overview', '', back) }, 'Topics'),
        h('span', { 'aria-hidden': 'true' }, ' / '),
        h('span', { 'aria-current': 'page' }, this.topic),
      ),
      h(
        'div',
        { class: 'title-row' },
        h('h1', { 'data-testid': 'topic-title' }, this.topic),
        d?.summary ? statusBadge(d.summary.status) : null,
        d?.summary ? alertBadge(this.topic, d.summary.alerts, this.p) : null,
      ),
      d
        ? h(
            'p',
            { class: 'muted' },
            `${d.tiers.length} tier${d.tiers.length === 1 ? '' : 's'}: `,
            d.tiers.map((t, i) => [i ? ' → ' : '', h('span', { class: 'tier-chip', style: `--c:${tierColor(i)}` }, t)]),
            ` · ${fmtDuration(d.series.windowSec)} windows · ${fmtTime(d.series.from, z)} → ${fmtTime(d.series.to, z)}`,
          )
        : null,
    );
  }

  private finalEverywhere(d: Loaded, w: number): boolean {
    return d.tiers.every((t) => d.points.get(t)?.get(w)?.final ?? false);
  }

  private renderKpis(d: Loaded): void {
    const first = d.tiers[0];
    const lastTier = d.tiers[d.tiers.length - 1];
    let total = 0;
    for (const p of d.points.get(first)?.values() ?? []) total += p.count;
    let lost = 0;
    let dup = 0;
    let issueWindows = 0;
    let finalWindows = 0;
    for (const w of d.xs) {
      let issue = false;
      for (const pair of d.pairs) {
        const lw = pair.windows.get(w);
        if (!lw || !lw.final) continue;
        lost += lw.lost;
        dup += lw.duplicated;
        if (lw.lost || lw.duplicated || lw.digestMatch === false) issue = true;
      }
      if (issue) issueWindows++;
      if (this.finalEverywhere(d, w)) finalWindows++;
    }
    const lastFinal = [...d.xs].reverse().find((w) => this.finalEverywhere(d, w));
    const p99 = lastFinal !== undefined ? d.points.get(lastTier)?.get(lastFinal)?.p99 : undefined;
    const z = zone(this.p);
    const kpi = (label: string, value: string, cls = '', testid = '') =>
      h('div', { class: 'kpi ' + cls, 'data-testid': testid || null }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value));
    replace(
      this.kpiEl,
      first ? kpi(`Messages at ${first}`, fmtInt(total), '', 'kpi-total') : kpi('Messages', '0'),
      kpi('Lost (final windows)', fmtInt(lost), lost ? 'bad' : 'good', 'kpi-lost'),
      kpi('Duplicated (final windows)', fmtInt(dup), dup ? 'warn' : 'good', 'kpi-dup'),
      kpi('Windows with loss or duplication', `${fmtInt(issueWindows)} of ${fmtInt(finalWindows)} final`, issueWindows ? 'bad' : '', 'kpi-issues'),
      kpi('Last final window', lastFinal !== undefined ? fmtTime(lastFinal, z) : '–'),
      lastTier ? kpi(`p99 at ${lastTier}, last final window`, fmtMs(p99 ?? null)) : null,
    );
  }

  private bands(d: Loaded): Band[] {
    const bands: Band[] = [];
    const z = zone(this.p);
    for (const w of d.xs) {
      let lost = 0;
      let dup = 0;
      let digest = false;
      let anyFinal = false;
      const titles: string[] = [];
      for (const pair of d.pairs) {
        const lw = pair.windows.get(w);
        if (!lw || !(lw.lost > 0 || lw.duplicated > 0 || lw.digestMatch === false)) continue;
        if (lw.final) anyFinal = true;
        lost += lw.lost;
        dup += lw.duplicated;
        if (lw.digestMatch === false && !lw.lost && !lw.duplicated) digest = true;
        titles.push(describePair(pair.source, pair.target, lw));
      }
      if (!titles.length) continue;
      // Messages lost at different hops are different messages: the label is the sum.
      const kind = !anyFinal ? 'open' : lost || digest ? 'loss' : 'dup';
      const label = kind === 'open' ? 'open' : [lost ? `−${fmtInt(lost)}` : '', dup ? `+${fmtInt(dup)}` : ''].filter(Boolean).join(' ') || '≠';
      bands.push({ window: w, kind, label, title: `${fmtTime(w, z)}: ${titles.join('; ')}` });
    }
    return bands;
  }

  private alertTitle(a: Alert): string {
    const z = zone(this.p);
    const first = a.firstWindow ?? 0;
    const last = a.lastWindow ?? first;
    const span = first === last ? `window ${fmtTime(first, z)}` : `windows ${fmtTime(first, z)} → ${fmtTime(last, z)}`;
    return `${kindLabel(a.kind)}, ${a.state} (${a.severity}): ${alertPair(a)}, ${alertFigures(a)} (${span})`;
  }

  private markers(d: Loaded): Marker[] {
    return d.alerts.map((a) => ({
      id: a.id,
      first: a.firstWindow ?? 0,
      last: a.lastWindow ?? a.firstWindow ?? 0,
      kind: a.kind,
      state: a.state,
      title: this.alertTitle(a) + ' · click to drill into its first window',
      onClick: () => this.selectWindow(a.firstWindow ?? 0),
    }));
  }

  // The alerts marked on the chart, as text: each links to its first window.
  private renderAlerts(d: Loaded): void {
    this.alertsEl.hidden = d.alerts.length === 0;
    this.markerLegend.hidden = d.alerts.length === 0;
    if (!d.alerts.length) {
      replace(this.alertsEl);
      return;
    }
    const z = zone(this.p);
    replace(
      this.alertsEl,
      h('h3', null, `Alerts in this range (${fmtInt(d.alerts.length)})`),
      h(
        'ul',
        { class: 'alert-list' },
        d.alerts.map((a) => {
          const first = a.firstWindow ?? 0;
          const last = a.lastWindow ?? first;
          return h(
            'li',
            { 'data-alert-id': a.id },
            stateBadge(a.state),
            severityChip(a.severity),
            kindChip(a.kind),
            h('span', { class: 'pair' }, alertPair(a)),
            h('span', null, alertFigures(a)),
            h(
              'a',
              { href: hrefFor('topic', this.topic, withParams(this.p, { w: first })), onclick: () => (this.scrollToDrill = true), title: 'Drill into its first window' },
              first === last ? fmtTime(first, z) : `${fmtTime(first, z)} → ${fmtTime(last, z)}`,
            ),
          );
        }),
      ),
    );
  }

  private renderCharts(d: Loaded): void {
    const z = zone(this.p);
    const n = d.tiers.length;
    // Lines coincide when nothing is lost: earlier tiers are drawn wider, so
    // every tier stays visible as a coloured edge of the bundle.
    const step = n > 1 ? Math.min(1.25, 5 / (n - 1)) : 0;
    const countSeries: LineSeries[] = d.tiers.map((t, i) => ({
      label: t,
      values: d.xs.map((w) => d.points.get(t)?.get(w)?.count ?? null),
      color: tierColor(i),
      dash: tierDash(i),
      width: 1.75 + (n - 1 - i) * step,
    }));
    const bands = this.bands(d);
    const select = (w: number) => this.selectWindow(w);
    const describe = (w: number) => this.describeWindow(d, w);
    this.countsChart.set({
      title: 'Messages per window',
      xs: d.xs,
      series: countSeries,
      windowSec: d.series.windowSec,
      zone: z,
      yKind: 'count',
      bands,
      markers: this.markers(d),
      onSelect: select,
      describe,
    });
    this.renderAlerts(d);
    const losses = bands.filter((b) => b.kind === 'loss').length;
    const dups = bands.filter((b) => b.kind === 'dup').length;
    const open = bands.filter((b) => b.kind === 'open').length;
    this.countsCaption.textContent =
      (d.xs.length === 0
        ? 'No windows in this range.'
        : losses + dups === 0
          ? `All ${n} tiers agree in every final window.`
          : `${losses} window${losses === 1 ? '' : 's'} with loss, ${dups} with duplication.`) +
      (open ? ` ${open} open window${open === 1 ? '' : 's'} still differ (not final yet).` : '') +
      (d.xs.length ? ' Click a window to see its partitions; drag to zoom, double-click to reset.' : '');

    const shown = this.percentiles(n);
    const logY = this.p.get('log') === '1';
    this.renderLatencyControls(shown, logY, n);
    const latSeries: LineSeries[] = [];
    d.tiers.forEach((t, i) => {
      for (const pct of PERCENTILES) {
        if (!shown.includes(pct)) continue;
        latSeries.push({
          label: `${t} ${pct}`,
          values: d.xs.map((w) => d.points.get(t)?.get(w)?.[pct] ?? null),
          color: tierColor(i),
          dash: PCT_STYLE[pct].dash,
          width: PCT_STYLE[pct].width,
        });
      }
    });
    this.latencyChart.set({
      title: 'Latency',
      xs: d.xs,
      series: latSeries,
      windowSec: d.series.windowSec,
      zone: z,
      yKind: 'ms',
      logY,
      onSelect: select,
      describe: (w: number) =>
        `${fmtTime(w, z)} — ` +
        d.tiers
          .map((t) => {
            const p = d.points.get(t)?.get(w);
            return p ? `${t}: p50 ${fmtMs(p.p50)}, p95 ${fmtMs(p.p95)}, p99 ${fmtMs(p.p99)}${p.latencyUpperBound ? ' (upper bound)' : ''}` : `${t}: –`;
          })
          .join(' · '),
    });
  }

  // Percentiles drawn: from the URL, else all three for up to four tiers and
  // p99 alone beyond (3 lines per tier stop being readable).
  private defaultPercentiles(tiers: number): Pct[] {
    return tiers > 4 ? ['p99'] : [...PERCENTILES];
  }

  private percentiles(tiers: number): Pct[] {
    const raw = this.p.get('pct');
    if (raw === null) return this.defaultPercentiles(tiers);
    return PERCENTILES.filter((p) => raw.split(',').includes(p));
  }

  private renderLatencyControls(shown: Pct[], logY: boolean, tiers: number): void {
    const toggle = (pct: Pct) => {
      const next = PERCENTILES.filter((p) => (p === pct ? !shown.includes(p) : shown.includes(p)));
      const isDefault = next.join(',') === this.defaultPercentiles(tiers).join(',');
      this.ctx.setParams({ pct: isDefault ? null : next.join(',') || 'none' });
    };
    replace(
      this.latencyControls,
      h(
        'div',
        { class: 'segmented', role: 'group', 'aria-label': 'Percentiles shown' },
        PERCENTILES.map((pct) =>
          segButton(
            shown.includes(pct),
            { 'data-pct': pct, onclick: () => toggle(pct) },
            h('span', { class: `dash-sample dash-${pct}`, 'aria-hidden': 'true' }),
            pct,
          ),
        ),
      ),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: logY, onchange: () => this.ctx.setParams({ log: logY ? null : 1 }) }), 'Log scale'),
    );
  }

  private describeWindow(d: Loaded, w: number): string {
    const z = zone(this.p);
    const parts: string[] = [];
    for (const pair of d.pairs) {
      const lw = pair.windows.get(w);
      if (lw && (lw.lost || lw.duplicated || lw.digestMatch === false)) parts.push(describePair(pair.source, pair.target, lw));
    }
    const open = d.tiers.filter((t) => {
      const p = d.points.get(t)?.get(w);
      return p && !p.final;
    });
    const missing = d.tiers.filter((t) => !d.points.get(t)?.has(w));
    let text = `${fmtTime(w, z)} — ` + (parts.length ? parts.join('; ') : 'all tiers agree');
    if (missing.length) text += ` · no report from ${missing.join(', ')}`;
    if (open.length) text += ` · not final at ${open.join(', ')}`;
    return text;
  }

  private selectWindow(w: number): void {
    this.scrollToDrill = true;
    this.ctx.setParams({ w });
  }

  private renderWindows(d: Loaded): void {
    const z = zone(this.p);
    const onlyIssues = this.p.get('only') === 'issues';
    const selected = Number(this.p.get('w'));
    const rowsAll = [...d.xs].reverse().filter((w) => {
      if (!onlyIssues) return true;
      return d.pairs.some((pair) => {
        const lw = pair.windows.get(w);
        return lw && (lw.lost || lw.duplicated || lw.digestMatch === false);
      });
    });
    replace(
      this.windowsControls,
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', checked: onlyIssues, 'data-testid': 'only-issues', onchange: () => this.ctx.setParams({ only: onlyIssues ? null : 'issues' }) }),
        'Only windows with loss or duplication',
      ),
    );
    if (rowsAll.length === 0) {
      replace(this.windowsWrap, h('p', { class: 'empty' }, onlyIssues ? 'No window with loss or duplication in this range.' : 'No windows in this range.'));
      return;
    }
    const rows = rowsAll.slice(0, this.tableRows);
    const shared = withParams(this.p, {});
    const head = h(
      'tr',
      null,
      h('th', { scope: 'col' }, 'Window'),
      d.tiers.map((t, i) => h('th', { scope: 'col', class: 'num' }, h('span', { class: 'tier-chip', style: `--c:${tierColor(i)}` }, t))),
      d.pairs.map((p) => h('th', { scope: 'col', class: 'num wrap' }, `${p.source} → ${p.target}`)),
      h('th', { scope: 'col' }, 'Final'),
    );
    const body = rows.map((w) => {
      const open = d.tiers.filter((t) => {
        const p = d.points.get(t)?.get(w);
        return p && !p.final;
      });
      const anyBad = d.pairs.some((pair) => {
        const lw = pair.windows.get(w);
        return lw && lw.final && (lw.lost || lw.duplicated || lw.digestMatch === false);
      });
      return h(
        'tr',
        { class: (w === selected ? 'selected ' : '') + (anyBad ? 'bad' : ''), 'data-window': w, 'aria-selected': w === selected ? 'true' : null },
        h('th', { scope: 'row', class: 'nowrap' }, h('a', { href: hrefFor('topic', this.topic, withParams(shared, { w })), onclick: () => (this.scrollToDrill = true) }, fmtTime(w, z))),
        d.tiers.map((t) => {
          const p = d.points.get(t)?.get(w);
          return h('td', { class: 'num', 'data-tier': t }, p ? fmtInt(p.count) : h('span', { class: 'muted' }, '–'));
        }),
        d.pairs.map((pair) => h('td', { class: 'num' }, deltaCell(pair.windows.get(w)))),
        h('td', { class: 'nowrap' }, open.length ? h('span', { class: 'muted', title: `not final at ${open.join(', ')}` }, 'open') : h('span', { class: 'ok' }, '✓ final')),
      );
    });
    const more =
      rowsAll.length > rows.length
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn more',
              onclick: () => {
                this.tableRows += TABLE_PAGE * 5;
                this.renderWindows(d);
              },
            },
            `Show more (${fmtInt(rowsAll.length - rows.length)} older windows)`,
          )
        : null;
    replace(
      this.windowsWrap,
      h(
        'table',
        { class: 'data windows-table', 'data-testid': 'windows-table' },
        h('caption', { class: 'sr-only' }, 'Windows, newest first: count per tier and difference per tier pair'),
        h('thead', null, head),
        h('tbody', null, body),
      ),
      more,
    );
  }

  private renderDrill(d: Loaded): void {
    const wRaw = this.p.get('w');
    const w = Number(wRaw);
    if (!wRaw || !Number.isInteger(w)) {
      this.drillEl.hidden = true;
      this.drillKey = '';
      return;
    }
    const z = zone(this.p);
    this.drillEl.hidden = false;
    if (this.scrollToDrill) {
      this.scrollToDrill = false;
      requestAnimationFrame(() => this.drillEl.scrollIntoView({ block: 'start' }));
    }
    const key = `${w}`;
    if (key !== this.drillKey) {
      this.drillKey = key;
      this.partitions = null;
      this.loadPartitions(d, w);
    }
    const tierRows = d.tiers.map((t, i) => {
      const p = d.points.get(t)?.get(w);
      return h(
        'tr',
        null,
        h('th', { scope: 'row' }, h('span', { class: 'tier-chip', style: `--c:${tierColor(i)}` }, t)),
        p
          ? [
              h('td', { class: 'num' }, fmtInt(p.count)),
              h('td', { class: 'num' }, p.bytes === null ? '–' : fmtInt(p.bytes)),
              h('td', { class: 'num' }, fmtInt(p.noTime)),
              h('td', { class: 'num' }, fmtInt(p.malformed)),
              h('td', { class: 'num' }, fmtMs(p.p50)),
              h('td', { class: 'num' }, fmtMs(p.p95)),
              h('td', { class: 'num' }, fmtMs(p.p99), p.latencyUpperBound ? h('span', { class: 'muted', title: 'legacy records: upper bound' }, ' ≤') : null),
              h('td', { class: 'num' }, fmtMs(p.max)),
              h('td', { class: 'num' }, fmtInt(p.records)),
              h('td', { class: 'mono' }, p.digest ?? '–'),
              h('td', null, p.final ? '✓ final' : 'open'),
            ]
          : h('td', { colspan: 11, class: 'muted' }, 'no report for this window'),
      );
    });
    const pairRows = d.pairs.map((pair) => {
      const lw = pair.windows.get(w);
      return h(
        'tr',
        { 'data-pair': `${pair.source}>${pair.target}` },
        h('th', { scope: 'row' }, `${pair.source} → ${pair.target}`),
        lw
          ? [
              h('td', { class: 'num' }, fmtInt(lw.sourceCount)),
              h('td', { class: 'num' }, fmtInt(lw.targetCount)),
              h('td', { class: 'num' }, deltaCell(lw)),
              h('td', { class: 'num' }, fmtPct(lw.lossRatio)),
              h('td', null, lw.digestMatch === null ? 'n/a (legacy records)' : lw.digestMatch ? 'match' : h('span', { class: 'lost' }, 'differ')),
              h('td', null, lw.final ? '✓ final' : 'open'),
              h('td', null, this.messagesAction(pair.source, pair.target, w, lw)),
            ]
          : h('td', { colspan: 7, class: 'muted' }, pair.error ?? 'not compared'),
      );
    });
    const pt = this.p.get('pt');
    const parts = this.partitions;
    const withData = parts ? d.tiers.filter((t) => typeof parts.get(t) === 'object' && (parts.get(t) as PartitionsResponse).partitions.length) : [];
    const ptier = pt && d.tiers.includes(pt) ? pt : withData[0] ?? d.tiers[0];
    const tabs = h(
      'div',
      { class: 'tabs', role: 'tablist', 'aria-label': 'Tier' },
      d.tiers.map((t, i) => {
        const r = parts?.get(t);
        const n = r && typeof r === 'object' ? r.partitions.length : null;
        return h(
          'button',
          {
            type: 'button',
            role: 'tab',
            class: 'tab' + (t === ptier ? ' active' : ''),
            'aria-selected': t === ptier ? 'true' : 'false',
            'data-tier': t,
            onclick: () => this.ctx.setParams({ pt: t }),
          },
          h('span', { class: 'tier-chip', style: `--c:${tierColor(i)}` }, t),
          n !== null ? h('span', { class: 'count' }, String(n)) : null,
        );
      }),
    );
    replace(
      this.drillEl,
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'drill-title' }, `Window ${fmtTime(w, z)} – ${fmtTime(w + d.series.windowSec, z)}`),
        h('button', { type: 'button', class: 'btn', onclick: () => this.ctx.setParams({ w: null, pt: null }) }, 'Close'),
      ),
      h('h3', null, 'Tiers'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data compact' },
          h(
            'thead',
            null,
            h('tr', null, ['Tier', 'Count', 'Bytes', 'No time', 'Malformed', 'p50', 'p95', 'p99', 'Max', 'Records', 'Digest', 'Final'].map((c, i) => h('th', { scope: 'col', class: i && i < 10 ? 'num' : null }, c))),
          ),
          h('tbody', null, tierRows),
        ),
      ),
      d.pairs.length
        ? [
            h('h3', null, 'Tier pairs'),
            h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'data compact' },
                h('thead', null, h('tr', null, ['Pair', 'Source', 'Target', 'Difference', 'Loss ratio', 'Digests', 'Final', 'Messages'].map((c, i) => h('th', { scope: 'col', class: i && i < 5 ? 'num' : null }, c)))),
                h('tbody', null, pairRows),
              ),
            ),
          ]
        : null,
      h('h3', null, 'Partitions and offsets'),
      tabs,
      h('div', { role: 'tabpanel', 'data-testid': 'partitions' }, this.partitionsPanel(d, w, ptier)),
    );
  }

  // The link to the messages behind a pair's difference in the window (the
  // diff reads them from Kafka): for tiers whose audit records offsets.
  private messagesAction(source: string, target: string, w: number, lw: LossWindow): HTMLElement | string {
    if (!(lw.lost || lw.duplicated || lw.digestMatch === false)) return h('span', { class: 'muted' }, '–');
    const noOffsets = [source, target].find((t) => {
      const r = this.partitions?.get(t);
      return r !== undefined && typeof r === 'object' && !r.partitions.some((p) => p.firstOffset >= 0);
    });
    if (noOffsets) {
      return h(
        'span',
        { class: 'muted', title: 'The diff reads the offsets the audit recorded; client tiers count messages, not offsets.' },
        `no offsets at ${noOffsets}`,
      );
    }
    const label = lw.lost ? 'Show the missing messages' : lw.duplicated ? 'Show the duplicated messages' : 'Show the differing messages';
    return h(
      'a',
      {
        class: 'btn btn-primary btn-small',
        href: diffHref(this.topic, this.p, w, source, target),
        'data-testid': 'show-missing',
        'data-source': source,
        'data-target': target,
        title: `Read the window's messages at ${source} and ${target} from Kafka and list those that differ`,
      },
      label,
    );
  }

  private partitionsPanel(d: Loaded, w: number, tier: string): HTMLElement {
    const parts = this.partitions;
    if (!parts) return h('p', { class: 'muted' }, 'Loading partitions…');
    const r = parts.get(tier);
    if (typeof r === 'string') return h('p', { class: 'banner error' }, `Cannot load partitions: ${r}`);
    if (!r || r.partitions.length === 0) {
      return h('p', { class: 'muted' }, `The ${tier} tier reports no partitions for this window (client tiers count messages, not offsets).`);
    }
    const count = d.points.get(tier)?.get(w)?.count;
    let sum = 0;
    const rows = [...r.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => {
        sum += p.count;
        const span = p.lastOffset >= p.firstOffset && p.firstOffset >= 0 ? p.lastOffset - p.firstOffset + 1 : null;
        return h(
          'tr',
          { 'data-partition': p.partition },
          h('th', { scope: 'row', class: 'num' }, String(p.partition)),
          h('td', { class: 'num' }, fmtInt(p.count)),
          h('td', { class: 'num mono' }, p.firstOffset >= 0 ? String(p.firstOffset) : '–'),
          h('td', { class: 'num mono' }, p.lastOffset >= 0 ? String(p.lastOffset) : '–'),
          h('td', { class: 'num' }, span === null ? '–' : fmtInt(span)),
        );
      });
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data compact partitions-table' },
        h('caption', { class: 'sr-only' }, `Partitions of ${tier} in this window`),
        h('thead', null, h('tr', null, ['Partition', 'Count', 'First offset', 'Last offset', 'Offset span'].map((c) => h('th', { scope: 'col', class: 'num' }, c)))),
        h('tbody', null, rows),
        h(
          'tfoot',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'row', class: 'num' }, 'Total'),
            h('td', { class: 'num' }, fmtInt(sum), count !== undefined && count !== sum ? h('span', { class: 'muted' }, ` (tier count ${fmtInt(count)})`) : null),
            h('td', { colspan: 3 }),
          ),
        ),
      ),
    );
  }

  private async loadPartitions(d: Loaded, w: number): Promise<void> {
    this.drillAbort?.abort();
    const abort = new AbortController();
    this.drillAbort = abort;
    const results = await Promise.all(
      d.tiers.map((t) =>
        api.partitions(this.topic, w, t, abort.signal).then(
          (r): [string, PartitionsResponse | string] => [t, r],
          (e: Error): [string, PartitionsResponse | string] => [t, e.name === 'AbortError' ? 'aborted' : e.message],
        ),
      ),
    );
    if (abort.signal.aborted) return;
    this.partitions = new Map(results);
    if (this.data) this.renderDrill(this.data);
  }

  private renderEmitters(d: Loaded): void {
    if (d.emitters === null) {
      replace(this.emittersEl, h('p', { class: 'banner error' }, `Cannot load emitters: ${d.emittersError ?? ''}`));
      return;
    }
    const now = Date.now();
    const tierIndex = new Map(d.tiers.map((t, i) => [t, i]));
    const emitters = [...d.emitters].sort((a, b) => (tierIndex.get(a.tier) ?? 0) - (tierIndex.get(b.tier) ?? 0) || a.emitterId.localeCompare(b.emitterId));
    const coverage = d.tiers.map((t, i) => {
      const es = emitters.filter((e) => e.tier === t);
      const stale = es.filter((e) => e.stale).length;
      const missing = es.reduce((a, e) => a + e.missingRecords, 0);
      const dropped = es.reduce((a, e) => a + e.droppedRecords + e.failedDeliveries, 0);
      const bad = stale > 0 || missing > 0 || dropped > 0;
      return h(
        'li',
        { class: 'coverage-item' + (bad ? ' bad' : es.length ? ' ok' : ''), 'data-tier': t },
        h('span', { class: 'tier-chip', style: `--c:${tierColor(i)}` }, t),
        h(
          'span',
          null,
          es.length ? `${es.length} emitter${es.length === 1 ? '' : 's'}` : 'no emitter known',
          stale ? `, ${stale} stale` : '',
          missing ? `, ${fmtInt(missing)} records missing` : '',
          dropped ? `, ${fmtInt(dropped)} dropped or failed` : '',
        ),
      );
    });
    const rows = emitters.map((e) =>
      h(
        'tr',
        { class: e.stale ? 'bad' : '' },
        h('td', null, e.tier),
        h('th', { scope: 'row', class: 'mono' }, e.emitterId),
        h('td', null, e.hostname),
        h('td', null, `${e.datacenter} / ${e.cluster}`),
        h('td', { class: 'num' }, fmtInt(e.lastSeq)),
        h('td', { class: 'num' + (e.missingRecords ? ' lost' : '') }, fmtInt(e.missingRecords)),
        h('td', { class: 'num' + (e.droppedRecords ? ' lost' : '') }, fmtInt(e.droppedRecords)),
        h('td', { class: 'num' + (e.failedDeliveries ? ' lost' : '') }, fmtInt(e.failedDeliveries)),
        h('td', { class: 'nowrap' }, fmtTime(Math.floor(e.watermarkMs / 1000), zone(this.p))),
        h('td', { class: 'nowrap' }, fmtAgo(e.lastSeenMs, now)),
        h('td', null, e.stale ? h('span', { class: 'badge badge-stale_emitter' }, 'Stale') : h('span', { class: 'badge badge-healthy' }, 'Live')),
      ),
    );
    replace(
      this.emittersEl,
      h('ul', { class: 'coverage', 'aria-label': 'Coverage per tier' }, coverage),
      emitters.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data compact', 'data-testid': 'emitters-table' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Tier', 'Emitter', 'Host', 'Datacenter / cluster', 'Last seq', 'Missing records', 'Dropped', 'Failed deliveries', 'Watermark', 'Last seen', 'State'].map((c, i) =>
                    h('th', { scope: 'col', class: i >= 4 && i <= 7 ? 'num' : null }, c),
                  ),
                ),
              ),
              h('tbody', null, rows),
            ),
          )
        : h('p', { class: 'muted' }, 'No emitter of these tiers has reported yet.'),
    );
  }
}

function describePair(source: string, target: string, lw: LossWindow): string {
  const bits: string[] = [];
  if (lw.lost) bits.push(`${fmtInt(lw.lost)} lost`);
  if (lw.duplicated) bits.push(`${fmtInt(lw.duplicated)} duplicated`);
  if (lw.digestMatch === false && !lw.lost && !lw.duplicated) bits.push('equal counts, digests differ');
  return `${source} → ${target}: ${bits.join(', ')}${lw.final ? '' : ' (not final)'}`;
}

function deltaCell(lw: LossWindow | undefined): HTMLElement | string {
  if (!lw) return h('span', { class: 'muted' }, '–');
  const parts: HTMLElement[] = [];
  const open = lw.final ? '' : ' open';
  if (lw.lost) parts.push(h('span', { class: 'lost' + open, title: lw.final ? 'lost' : 'lost so far (window not final)' }, `−${fmtInt(lw.lost)}`));
  if (lw.duplicated) parts.push(h('span', { class: 'dup' + open, title: lw.final ? 'duplicated' : 'duplicated so far (window not final)' }, `+${fmtInt(lw.duplicated)}`));
  if (lw.digestMatch === false && !lw.lost && !lw.duplicated) parts.push(h('span', { class: 'lost' + open, title: 'equal counts, content digests differ' }, 'digest ≠'));
  if (!parts.length) return h('span', { class: 'muted' }, '0');
  return h('span', { class: 'delta' }, parts.flatMap((p, i) => (i ? [document.createTextNode(' '), p] : [p])));
}
