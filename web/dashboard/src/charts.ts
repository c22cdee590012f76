// uPlot wrappers: the per-tier counts chart (with shaded loss/duplication
// bands and the loss detector's alerts as markers) and the latency
// percentiles chart. Bands, their labels and the markers are DOM elements in
// uPlot's under/over layers, so they stay crisp, can be inspected
// by tests and read by assistive technology through the figure caption.

import uPlot from 'uplot';
import { h, replace } from './dom';
import { fmtClock, fmtCompact, fmtDate, fmtInt, fmtMs, fmtTime, type Zone } from './format';

// Qualitative palette, readable on light and dark backgrounds. Red is kept for loss.
const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#a855f7', '#06b6d4', '#ec4899', '#84cc16', '#6366f1', '#f97316', '#14b8a6'];
const DASHES: number[][] = [[], [10, 4], [3, 3], [12, 4, 3, 4]];

export function tierColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}
// Past the palette, tiers are told apart by dash patterns too.
export function tierDash(i: number): number[] {
  return DASHES[Math.floor(i / PALETTE.length) % DASHES.length];
}

export type BandKind = 'loss' | 'dup' | 'open';

export interface Band {
  window: number; // window start (x value of its point)
  kind: BandKind;
  label: string; // short text drawn at the top, e.g. "−2"
  title: string; // full description
}

// An alert over its windows: a bar along the bottom of the plot from its
// first to its last window, in the colour of its kind.
export interface Marker {
  id: number;
  first: number; // window starts (x values)
  last: number;
  kind: string; // loss | duplicate | digest_mismatch | silent
  state: string; // firing | resolved
  title: string;
  onClick?: () => void;
}

export interface LineSeries {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
  width?: number;
}

export interface ChartOptions {
  title: string;
  xs: number[];
  series: LineSeries[];
  windowSec: number;
  zone: Zone;
  height?: number;
  yKind: 'count' | 'ms';
  logY?: boolean;
  bands?: Band[];
  markers?: Marker[];
  onSelect?: (window: number) => void;
  describe?: (window: number) => string; // the hover line under the chart
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export class Chart {
  readonly el: HTMLElement;
  private u: uPlot | null = null;
  private opts: ChartOptions;
  private readonly plotEl: HTMLElement;
  private readonly hoverEl: HTMLElement;
  private readonly bandLayer: HTMLElement;
  private readonly labelLayer: HTMLElement;
  private readonly markerLayer: HTMLElement;
  private readonly resizeObs: ResizeObserver;
  private signature = '';

  constructor(opts: ChartOptions) {
    this.opts = opts;
    this.plotEl = h('div', { class: 'chart-plot' });
    this.hoverEl = h('div', { class: 'chart-hover', 'aria-live': 'off' }, '\u00a0');
    this.bandLayer = h('div', { class: 'band-layer', 'aria-hidden': 'true' });
    this.labelLayer = h('div', { class: 'band-label-layer', 'aria-hidden': 'true' });
    this.markerLayer = h('div', { class: 'marker-layer' });
    this.el = h('div', { class: 'chart' }, this.plotEl, this.hoverEl);
    this.resizeObs = new ResizeObserver(() => this.resize());
    this.resizeObs.observe(this.plotEl);
  }

  // Draws `opts`; keeps the uPlot instance when only the data changed.
  set(opts: ChartOptions): void {
    this.opts = opts;
    const sig = JSON.stringify([opts.series.map((s) => [s.label, s.color, s.dash, s.width]), opts.zone, opts.logY, opts.yKind]);
    const data = this.data();
    if (this.u && sig === this.signature) {
      // Keep the user's zoom across auto-refreshes.
      const xs = this.u.data[0];
      const x = this.u.scales.x;
      const zoomed = xs.length > 0 && x.min != null && x.max != null && (x.min > xs[0] || x.max < xs[xs.length - 1]);
      this.u.setData(data, !zoomed);
      return;
    }
    this.signature = sig;
    this.u?.destroy();
    this.u = new uPlot(this.uplotOptions(), data, this.plotEl);
    this.u.under.appendChild(this.bandLayer);
    this.u.over.appendChild(this.labelLayer);
    this.u.over.appendChild(this.markerLayer);
    this.renderBands();
    this.installClick();
  }

  // For tests and debugging: what is drawn.
  get plot(): uPlot | null {
    return this.u;
  }

  destroy(): void {
    this.resizeObs.disconnect();
    this.u?.destroy();
    this.u = null;
  }

  private data(): uPlot.AlignedData {
    const { xs, series, logY } = this.opts;
    const ys = series.map((s) => (logY ? s.values.map((v) => (v !== null && v > 0 ? v : null)) : s.values));
    return [xs, ...ys] as uPlot.AlignedData;
  }

  private width(): number {
    return Math.max(300, Math.floor(this.plotEl.clientWidth || this.el.clientWidth || 800));
  }

  private resize(): void {
    if (!this.u) return;
    const w = this.width();
    if (Math.abs(w - this.u.width) > 1) this.u.setSize({ width: w, height: this.opts.height ?? 280 });
  }

  private uplotOptions(): uPlot.Options {
    const o = this.opts;
    const axisColor = cssVar('--fg-muted', '#667');
    const gridColor = cssVar('--grid', 'rgba(128,128,128,0.15)');
    const fmtY = o.yKind === 'ms' ? (v: number) => fmtMs(v) : (v: number) => fmtCompact(v);
    const tzDate = o.zone === 'utc' ? (ts: number) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : (ts: number) => new Date(ts * 1e3);
    const axis = (extra: Partial<uPlot.Axis>): uPlot.Axis => ({
      stroke: axisColor,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1 },
      font: '12px system-ui, sans-serif',
      ...extra,
    });
    return {
      width: this.width(),
      height: o.height ?? 280,
      tzDate,
      cursor: {
        sync: { key: 'chaperone-topic' },
        focus: { prox: 16 },
        drag: { x: true, y: false, setScale: true },
      },
      focus: { alpha: 0.35 },
      scales: {
        x: { time: true },
        y: o.logY ? { distr: 3 } : { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        axis({ space: 70, values: (_u, splits) => timeTicks(splits, o.zone) }),
        axis({ size: 64, values: (_u, splits) => splits.map((v) => (v === null ? '' : fmtY(v))) }),
      ],
      legend: { live: true },
      series: [
        { label: 'Window', value: (_u, v) => (v === null ? '–' : fmtTime(v, o.zone)) },
        ...o.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          dash: s.dash,
          spanGaps: false,
          points: { size: 5, width: 1 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : o.yKind === 'ms' ? fmtMs(v) : fmtInt(v)),
        })),
      ],
      hooks: {
        draw: [() => this.renderBands()],
        setCursor: [(u) => this.renderHover(u)],
      },
    };
  }

  private installClick(): void {
    const u = this.u;
    if (!u || !this.opts.onSelect) return;
    let down: { x: number; y: number } | null = null;
    u.over.style.cursor = 'pointer';
    u.over.addEventListener('mousedown', (e) => (down = { x: e.clientX, y: e.clientY }));
    u.over.addEventListener('click', (e) => {
      const moved = down ? Math.hypot(e.clientX - down.x, e.clientY - down.y) : 0;
      down = null;
      if (moved > 3) return; // a drag: uPlot zoomed
      const idx = u.cursor.idx;
      if (idx !== null && idx !== undefined) this.opts.onSelect?.(this.opts.xs[idx]);
    });
  }

  private renderHover(u: uPlot): void {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || !this.opts.describe) {
      this.hoverEl.textContent = '\u00a0';
      return;
    }
    this.hoverEl.textContent = this.opts.describe(this.opts.xs[idx]);
  }

  private renderBands(): void {
    const u = this.u;
    if (!u) return;
    const bands = this.opts.bands ?? [];
    const half = this.opts.windowSec / 2;
    const bandEls: HTMLElement[] = [];
    const labelEls: HTMLElement[] = [];
    let lastLabelRight = -Infinity;
    for (const b of bands) {
      const span = this.span(b.window - half, b.window + half, 3);
      if (!span) continue;
      const [left, right] = span;
      bandEls.push(
        h('div', {
          class: `band band-${b.kind}`,
          style: `left:${left.toFixed(1)}px;width:${(right - left).toFixed(1)}px`,
          'data-window': b.window,
          'data-kind': b.kind,
          title: b.title,
        }),
      );
      // Labels never overlap: a label that would is left out (the band and the
      // windows table still show it).
      const center = (left + right) / 2;
      const approxWidth = 8 + b.label.length * 7;
      if (center - approxWidth / 2 > lastLabelRight + 2) {
        labelEls.push(
          h('div', { class: `band-label band-label-${b.kind}`, style: `left:${center.toFixed(1)}px`, 'data-window': b.window }, b.label),
        );
        lastLabelRight = center + approxWidth / 2;
      }
    }
    replace(this.bandLayer, bandEls);
    replace(this.labelLayer, labelEls);
    this.renderMarkers();
  }

  // The pixels of [from, to] on the x axis within the plot, at least `minPx`
  // wide; null when the span is outside the shown scale.
  private span(from: number, to: number, minPx: number): [number, number] | null {
    const u = this.u;
    if (!u) return null;
    const xMin = u.scales.x.min ?? -Infinity;
    const xMax = u.scales.x.max ?? Infinity;
    if (to < xMin || from > xMax) return null;
    const plotWidth = u.over.clientWidth || u.bbox.width / devicePixelRatio;
    let left = Math.max(0, u.valToPos(from, 'x'));
    let right = Math.min(plotWidth, u.valToPos(to, 'x'));
    if (right - left < minPx) {
      const c = (left + right) / 2;
      left = c - minPx / 2;
      right = c + minPx / 2;
    }
    return [left, right];
  }

  // Markers take the lowest lane free over their span, so overlapping alerts stack.
  private renderMarkers(): void {
    const half = this.opts.windowSec / 2;
    const lanes: number[] = []; // right edge (px) of the last marker per lane
    const els: HTMLElement[] = [];
    const markers = [...(this.opts.markers ?? [])].sort((a, b) => a.first - b.first || a.id - b.id);
    for (const m of markers) {
      const span = this.span(m.first - half, m.last + half, 6);
      if (!span) continue;
      const [left, right] = span;
      let lane = lanes.findIndex((r) => r + 2 <= left);
      if (lane < 0) lane = lanes.length;
      lanes[lane] = right;
      const el = h('button', {
        type: 'button',
        class: `alert-marker kind-${m.kind} state-${m.state}`,
        style: `left:${left.toFixed(1)}px;width:${(right - left).toFixed(1)}px;bottom:${2 + lane * 9}px`,
        'data-alert-id': m.id,
        'data-kind': m.kind,
        'data-first': m.first,
        'data-last': m.last,
        title: m.title,
        'aria-label': m.title,
      });
      if (m.onClick) {
        const onClick = m.onClick;
        el.addEventListener('mousedown', (e) => e.stopPropagation()); // not the start of a zoom
        el.addEventListener('click', (e) => {
          e.stopPropagation(); // not a click on the window under it
          onClick();
        });
      }
      els.push(el);
    }
    replace(this.markerLayer, els);
  }
}

// 24-hour tick labels; the date is added on a second line at the first tick and
// at midnight, and alone for ranges of several days.
function timeTicks(splits: number[], zone: Zone): string[] {
  const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
  const multiDay = span > 2 * 86400;
  let lastDate = '';
  return splits.map((t) => {
    const date = fmtDate(t, zone);
    const clock = fmtClock(t, zone);
    const newDay = date !== lastDate;
    lastDate = date;
    if (multiDay) return clock === '00:00' ? date : newDay ? `${date}\n${clock}` : clock;
    return newDay ? `${clock}\n${date}` : clock;
  });
}
