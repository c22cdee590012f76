// The messages of one window missing from a target tier, or duplicated
// there (`#/diff/<topic>?w=&source=&target=`): the server reads both tiers'
// spans of the window from Kafka and compares them message by message
// (GET .../windows/{window}/diff). Reached from the topic page's drill-down:
// a window with loss, then "Show the missing messages".

import { api, type DiffCopy, type DiffItem, type DiffResponse, type DiffSide } from './api';
import { h, replace } from './dom';
import { fmtInt, fmtMs, fmtTime, type Zone } from './format';
import { hrefFor, sharedParams, withParams, zone } from './state';
import { Loader, LoadingView, type ViewContext } from './view';

const DEFAULT_LIMIT = 100;
const MORE_LIMIT = 1000;
const PREVIEW_CHARS = 160;

// The diff's link from a window of the topic page.
export function diffHref(topic: string, params: URLSearchParams, window: number, source: string, target: string): string {
  return hrefFor('diff', topic, withParams(sharedParams(params), { w: window, source, target }));
}

export class DiffView extends LoadingView {
  readonly el: HTMLElement;
  private data: DiffResponse | null = null;
  private failed = false;
  protected readonly loader: Loader;
  private readonly headEl: HTMLElement;
  private readonly errorEl: HTMLElement;
  private readonly bodyEl: HTMLElement;

  constructor(
    private readonly ctx: ViewContext,
    private readonly topic: string,
  ) {
    super();
    this.headEl = h('div', { class: 'view-head' });
    this.errorEl = h('div', { class: 'banner error', role: 'alert', hidden: true, 'data-testid': 'diff-error' });
    this.loader = new Loader(this.ctx, this.errorEl);
    this.bodyEl = h('div', { 'data-testid': 'diff' });
    this.el = h('section', { class: 'view diff', 'aria-labelledby': 'diff-title' }, this.headEl, this.errorEl, this.bodyEl);
  }

  protected queryKey(): string {
    return ['w', 'source', 'target', 'dc', 'limit'].map((k) => this.p.get(k) ?? '').join('|');
  }

  private window(): number | null {
    const w = Number(this.p.get('w'));
    return this.p.get('w') && Number.isInteger(w) ? w : null;
  }

  private limit(): number {
    const l = Number(this.p.get('limit'));
    return Number.isInteger(l) && l > 0 && l <= 10000 ? l : DEFAULT_LIMIT;
  }

  protected async load(): Promise<void> {
    this.loadKey = this.queryKey();
    this.data = null;
    this.failed = false;
    this.render();
    const w = this.window();
    const source = this.p.get('source') ?? '';
    const target = this.p.get('target') ?? '';
    await this.loader.run(
      `Cannot compare ${source || '?'} and ${target || '?'}`,
      (signal) => {
        if (w === null) return Promise.reject(new Error('no window given (w= in the address)'));
        return api.diff(this.topic, w, { source, target, datacenter: this.p.get('dc') ?? undefined, limit: this.limit() }, signal);
      },
      (data) => {
        this.data = data;
        this.render();
      },
      () => {
        this.failed = true;
        this.render();
      },
    );
  }

  protected render(): void {
    const z = zone(this.p);
    const w = this.window();
    const source = this.p.get('source') ?? '';
    const target = this.p.get('target') ?? '';
    const d = this.data;
    const windowSec = d?.windowSec;
    const back = withParams(sharedParams(this.p), { w: w ?? null });
    replace(
      this.headEl,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: hrefFor('overview', '', sharedParams(this.p)) }, 'Topics'),
        h('span', { 'aria-hidden': 'true' }, ' / '),
        h('a', { href: hrefFor('topic', this.topic, back), 'data-testid': 'diff-back' }, this.topic),
        h('span', { 'aria-hidden': 'true' }, ' / '),
        h('span', { 'aria-current': 'page' }, 'Missing messages'),
      ),
      h('h1', { id: 'diff-title' }, this.title(target || '?')),
      h(
        'p',
        { class: 'muted' },
        `${this.topic} · window ${w === null ? '?' : fmtTime(w, z)}`,
        windowSec ? ` – ${fmtTime((w ?? 0) + windowSec, z)}` : '',
        ` · ${source} → ${target}`,
        this.p.get('dc') ? ` · datacenter ${this.p.get('dc')}` : '',
      ),
    );
    if (!d) {
      replace(
        this.bodyEl,
        this.failed
          ? null
          : h(
              'div',
              { class: 'card diff-loading', 'data-testid': 'diff-loading' },
              h('span', { class: 'spinner', 'aria-hidden': 'true' }),
              `Reading the window's messages at ${source} and ${target} from Kafka and comparing them… A large window takes a while.`,
            ),
      );
      return;
    }
    const s = d.summary;
    const missing = d.items.filter((i) => i.kind === 'missing');
    const duplicated = d.items.filter((i) => i.kind === 'duplicated');
    const extra = d.items.filter((i) => i.kind === 'extra');
    const kpi = (label: string, value: string, cls: string, testid: string, sub?: string) =>
      h(
        'div',
        { class: 'kpi ' + cls, 'data-testid': testid },
        h('div', { class: 'kpi-label' }, label),
        h('div', { class: 'kpi-value' }, value),
        sub ? h('div', { class: 'sub' }, sub) : null,
      );
    const sideSub = (t: DiffSide) =>
      t.messages === t.audited ? `all ${fmtInt(t.audited)} the audit counted` : `the audit counted ${fmtInt(t.audited)}`;
    const notMatching = [...s.sourceTier.spansNotMatching, ...s.targetTier.spansNotMatching];
    replace(
      this.bodyEl,
      h(
        'div',
        { class: 'kpis' },
        kpi(`Missing from ${d.target}`, fmtInt(s.missing), s.missing ? 'bad' : 'good', 'diff-kpi-missing'),
        kpi(`Duplicated in ${d.target}`, fmtInt(s.duplicated), s.duplicated ? 'warn' : 'good', 'diff-kpi-duplicated'),
        s.extra ? kpi(`Only in ${d.target}`, fmtInt(s.extra), 'warn', 'diff-kpi-extra') : null,
        kpi(`Read at ${d.source}`, fmtInt(s.sourceTier.messages), '', 'diff-kpi-source', sideSub(s.sourceTier)),
        kpi(`Read at ${d.target}`, fmtInt(s.targetTier.messages), '', 'diff-kpi-target', sideSub(s.targetTier)),
      ),
      notMatching.length ? this.spansBanner(d, notMatching.length) : null,
      s.truncated
        ? h(
            'p',
            { class: 'banner warn', 'data-testid': 'diff-truncated' },
            `Listing ${fmtInt(s.listed)} of ${fmtInt(s.differing)} differing messages (the counts above are complete). `,
            d.limit < MORE_LIMIT
              ? h('button', { type: 'button', class: 'btn', onclick: () => this.ctx.setParams({ limit: MORE_LIMIT }) }, `List up to ${fmtInt(MORE_LIMIT)}`)
              : 'chaperone diff lists them all.',
          )
        : null,
      s.contentOmitted
        ? h('p', { class: 'banner warn' }, `${fmtInt(s.contentOmitted)} copies are listed without their key and value: the answer's size limit was reached.`)
        : null,
      this.section(`Missing from ${d.target}`, 'diff-missing', missing, d, 'missing', `No message of ${d.source} is missing from ${d.target} in this window.`),
      duplicated.length || s.duplicated ? this.section(`Duplicated in ${d.target}`, 'diff-duplicated', duplicated, d, 'duplicated', '') : null,
      extra.length ? this.section(`Only in ${d.target}`, 'diff-extra', extra, d, 'extra', '') : null,
      h('p', { class: 'muted small' }, `Compared in ${fmtMs(s.elapsedMs)}. Messages are compared by content (key and value); a copy's place is its cluster, partition and offset.`),
    );
  }

  // What the page lists: the missing messages, unless there are none but duplicated ones.
  private title(target: string): string {
    const s = this.data?.summary;
    if (!s || s.missing > 0) return `Messages missing from ${target}`;
    if (s.duplicated > 0 || s.extra > 0) return `Messages duplicated in ${target}`;
    return `No message missing from ${target}`;
  }

  private spansBanner(d: DiffResponse, n: number): HTMLElement {
    const all = [
      ...d.summary.sourceTier.spansNotMatching.map((c) => ({ tier: d.source, c })),
      ...d.summary.targetTier.spansNotMatching.map((c) => ({ tier: d.target, c })),
    ];
    return h(
      'div',
      { class: 'banner warn', 'data-testid': 'diff-spans' },
      `${fmtInt(n)} partition span${n === 1 ? '' : 's'} did not read back as the audit counted them: the listing may be incomplete.`,
      h(
        'ul',
        { class: 'mini-list' },
        all.map(({ tier, c }) =>
          h('li', null, `${tier} ${c.cluster} partition ${c.partition} offsets ${c.firstOffset}–${c.lastOffset}: read ${fmtInt(c.read)} of ${fmtInt(c.audited)} (${c.state})`),
        ),
      ),
    );
  }

  private section(title: string, testid: string, items: DiffItem[], d: DiffResponse, kind: string, empty: string): HTMLElement {
    const z = zone(this.p);
    // In the source's order: partition, then offset (extra: the target's).
    const where = (i: DiffItem) => (kind === 'extra' ? i.target[0] : i.source[0]);
    const sorted = [...items].sort((a, b) => {
      const x = where(a);
      const y = where(b);
      return (x?.partition ?? 0) - (y?.partition ?? 0) || (x?.offset ?? 0) - (y?.offset ?? 0);
    });
    const head = h(
      'tr',
      null,
      h('th', { scope: 'col' }, 'Key'),
      h('th', { scope: 'col' }, 'Value'),
      h('th', { scope: 'col', class: 'num' }, kind === 'missing' ? 'Missing' : 'Extra'),
      h('th', { scope: 'col', class: 'num wrap' }, `Copies at ${d.source} / ${d.target}`),
      h('th', { scope: 'col' }, kind === 'extra' ? `At ${d.target}` : `At ${d.source}`),
      kind === 'duplicated' ? h('th', { scope: 'col' }, `At ${d.target}`) : null,
      h('th', { scope: 'col' }, 'Record time'),
    );
    const rows = sorted.map((it) => {
      const first = where(it);
      return h(
        'tr',
        { 'data-kind': it.kind, 'data-key': first ? keyText(first) ?? '' : '', 'data-digest': it.digest },
        h('th', { scope: 'row', class: 'mono diff-key' }, first ? keyCell(first) : '–'),
        h('td', { class: 'diff-value' }, first ? valueCell(first) : '–'),
        h('td', { class: 'num' }, h('span', { class: kind === 'missing' ? 'lost' : 'dup' }, `${kind === 'missing' ? '−' : '+'}${fmtInt(it.copies)}`)),
        h('td', { class: 'num' }, `${fmtInt(it.sourceCopies)} / ${fmtInt(it.targetCopies)}`),
        h('td', { class: 'nowrap' }, places(kind === 'extra' ? it.target : it.source, kind === 'extra' ? it.targetCopies : it.sourceCopies)),
        kind === 'duplicated' ? h('td', { class: 'nowrap' }, places(it.target, it.targetCopies)) : null,
        h('td', { class: 'nowrap muted' }, first?.timestamp !== undefined && first.timestamp >= 0 ? fmtTimeMs(first.timestamp, z) : '–'),
      );
    });
    const n = kind === 'missing' ? d.summary.missing : kind === 'duplicated' ? d.summary.duplicated : d.summary.extra;
    return h(
      'section',
      { class: 'card', 'aria-labelledby': `${testid}-title` },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: `${testid}-title` }, title, ' ', h('span', { class: 'muted' }, `(${fmtInt(n)} message${n === 1 ? '' : 's'})`)),
      ),
      items.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data compact diff-table', 'data-testid': testid },
              h('caption', { class: 'sr-only' }, title),
              h('thead', null, head),
              h('tbody', null, rows),
            ),
          )
        : h('p', { class: 'empty' }, n ? 'Not listed: past the listing limit.' : empty),
    );
  }
}

// The key as text (null: a null key; base64 keys are shown as such).
function keyText(c: DiffCopy): string | null {
  if (c.key !== undefined && c.key !== null) return c.key;
  if (c.keyBase64 !== undefined) return 'base64:' + c.keyBase64;
  return null;
}

function keyCell(c: DiffCopy): HTMLElement | string {
  if (c.contentOmitted) return h('span', { class: 'muted' }, 'not listed');
  if (c.timestamp === undefined) return h('span', { class: 'muted', title: 'no message at this offset any more (retention)' }, 'gone');
  if (c.key === null) return h('span', { class: 'muted' }, 'null');
  if (c.keyBase64 !== undefined) return h('span', { title: 'not UTF-8: base64' }, h('span', { class: 'b64' }, 'base64'), ' ', c.keyBase64);
  return c.key ?? '';
}

function valueCell(c: DiffCopy): HTMLElement | string {
  if (c.contentOmitted) return h('span', { class: 'muted' }, `${fmtInt(c.valueBytes ?? 0)} bytes, not listed`);
  if (c.timestamp === undefined) return h('span', { class: 'muted' }, '–');
  if (c.value === null) return h('span', { class: 'muted' }, 'null (tombstone)');
  const b64 = c.valueBase64 !== undefined;
  const text = b64 ? c.valueBase64! : c.value ?? '';
  const size = c.valueTruncated ? ` · ${fmtInt(c.valueBytes ?? 0)} bytes, the first ${fmtInt(text.length)} shown` : '';
  const label = b64 ? h('span', { class: 'b64' }, 'base64') : null;
  if (text.length <= PREVIEW_CHARS && !size) return h('span', { class: 'mono preview' }, label, label ? ' ' : null, text);
  return h(
    'details',
    { class: 'preview' },
    h('summary', { class: 'mono' }, label, label ? ' ' : null, text.slice(0, PREVIEW_CHARS) + '…'),
    h('pre', { class: 'mono full' }, text),
    size ? h('div', { class: 'sub' }, size.slice(3)) : null,
  );
}

// "regional · p2 @ 1207" per listed copy; "+n more" when not all are listed.
function places(copies: DiffCopy[], total: number): HTMLElement {
  return h(
    'ul',
    { class: 'mini-list places' },
    copies.map((c) => h('li', { 'data-partition': c.partition, 'data-offset': c.offset }, h('span', { class: 'muted' }, `${c.cluster} · `), `p${c.partition} @ ${c.offset}`)),
    total > copies.length ? h('li', { class: 'muted' }, `+${fmtInt(total - copies.length)} more`) : null,
  );
}

function fmtTimeMs(ms: number, z: Zone): string {
  return fmtTime(Math.floor(ms / 1000), z);
}
