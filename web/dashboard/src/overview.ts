// The overview: every topic with its status, its firing alerts, last final
// window, loss and duplication per tier pair and p99 per tier. Filtering, sorting and paging
// are done by the server (q/status/sort/limit/offset), so thousands of topics
// cost one page of rows.

import { alertBadge } from './alerts';
import { api, STATUSES, type TopicSummary, type TopicsResponse } from './api';
import { debounce, h, replace, segButton } from './dom';
import { fmtAgo, fmtInt, fmtMs, fmtTime, type Zone } from './format';
import { hrefFor, resolveRange, sharedParams, zone, type Route } from './state';
import { Loader, LoadingView, pageSize, pageSizeSelect, statusLabel, type ViewContext } from './view';

const SORTABLE: { key: string; label: string }[] = [
  { key: 'topic', label: 'Topic' },
  { key: 'status', label: 'Status' },
  { key: 'alerts', label: 'Alerts' },
  { key: 'lastFinal', label: 'Last final window' },
  { key: 'loss', label: 'Loss / duplication per tier pair' },
  { key: 'p99', label: 'p99 latency per tier' },
  { key: 'updated', label: 'Updated' },
];
const SERVER_SORTS = new Set(['topic', 'status', 'loss', 'p99']);

export class OverviewView extends LoadingView {
  readonly el: HTMLElement;
  protected readonly loader: Loader;
  private readonly search: HTMLInputElement;
  private readonly statusBar: HTMLElement;
  private readonly tableWrap: HTMLElement;
  private readonly pager: HTMLElement;
  private readonly errorEl: HTMLElement;
  private counts: Record<string, number> = {};
  private last: TopicsResponse | null = null;

  constructor(private readonly ctx: ViewContext) {
    super();
    this.search = h('input', {
      type: 'search',
      id: 'topic-search',
      placeholder: 'Filter topics by name…',
      autocomplete: 'off',
      spellcheck: 'false',
      oninput: () => debounce(this.search, 250, () => this.ctx.setParams({ q: this.search.value.trim() || null, offset: null }, true)),
    });
    this.statusBar = h('div', { class: 'segmented status-filter', role: 'group', 'aria-label': 'Filter by status' });
    this.errorEl = h('div', { class: 'banner error', role: 'alert', hidden: true });
    this.loader = new Loader(this.ctx, this.errorEl);
    this.tableWrap = h('div', { class: 'table-wrap' });
    this.pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    this.el = h(
      'section',
      { class: 'view overview', 'aria-labelledby': 'overview-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'overview-title' }, 'Topics'), h('p', { class: 'muted', 'data-testid': 'overview-summary' })),
      h(
        'div',
        { class: 'filters' },
        h('label', { class: 'sr-only', for: 'topic-search' }, 'Filter topics by name'),
        this.search,
        this.statusBar,
      ),
      this.errorEl,
      h('div', { class: 'card' }, this.tableWrap, this.pager),
    );
  }

  override update(route: Route): void {
    if (document.activeElement !== this.search) this.search.value = route.params.get('q') ?? '';
    super.update(route);
  }

  protected queryKey(): string {
    const keys = ['q', 'status', 'sort', 'limit', 'offset', 'range', 'from', 'to'];
    return keys.map((k) => this.p.get(k) ?? '').join('|');
  }

  private limit(): number {
    return pageSize(this.p);
  }

  private offset(): number {
    const o = Number(this.p.get('offset'));
    return Number.isInteger(o) && o > 0 ? o : 0;
  }

  protected async load(): Promise<void> {
    this.loadKey = this.queryKey();
    const { from, to } = resolveRange(this.p, this.ctx.nowSec());
    const q = this.p.get('q') || undefined;
    const status = this.p.get('status') || undefined;
    const sort = this.p.get('sort') || undefined;
    const limit = this.limit();
    const offset = this.offset();
    await this.loader.run(
      'Cannot load topics',
      (signal) =>
        Promise.all([
          api.topics({ q, status, sort, limit, offset, from, to }, signal),
          ...STATUSES.map((s) => api.topics({ q, status: s, limit: 1, from, to }, signal)),
        ]),
      ([page, ...perStatus]) => {
        this.last = page;
        this.counts = {};
        STATUSES.forEach((s, i) => (this.counts[s] = perStatus[i].total));
        this.counts['all'] = STATUSES.reduce((a, s) => a + this.counts[s], 0);
        this.render();
      },
      () => {
        if (!this.last) this.render();
      },
    );
  }

  protected render(): void {
    const z = zone(this.p);
    const current = this.p.get('status') ?? '';
    replace(
      this.statusBar,
      [''].concat(STATUSES).map((s) =>
        segButton(
          current === s,
          { 'data-status': s || 'all', onclick: () => this.ctx.setParams({ status: s || null, offset: null }) },
          s ? h('span', { class: `dot dot-${s}`, 'aria-hidden': 'true' }) : null,
          s ? statusLabel(s) : 'All',
          this.counts[s || 'all'] !== undefined ? h('span', { class: 'count' }, fmtInt(this.counts[s || 'all'])) : null,
        ),
      ),
    );
    const summary = this.el.querySelector('[data-testid="overview-summary"]') as HTMLElement;
    const bad = (this.counts['loss'] ?? 0) + (this.counts['delay'] ?? 0) + (this.counts['stale_emitter'] ?? 0);
    summary.textContent =
      this.counts['all'] === undefined
        ? ''
        : `${fmtInt(this.counts['all'])} topics${this.p.get('q') ? ' matching “' + this.p.get('q') + '”' : ''}` +
          (bad ? ` · ${fmtInt(bad)} need attention` : ' · all healthy or idle');
    const data = this.last;
    if (!data) {
      replace(this.tableWrap, h('p', { class: 'empty' }, 'Loading…'));
      replace(this.pager);
      return;
    }
    if (data.topics.length === 0) {
      const filtered = this.p.get('q') || this.p.get('status');
      replace(
        this.tableWrap,
        h(
          'p',
          { class: 'empty' },
          filtered
            ? 'No topic matches these filters.'
            : 'No audit data yet. Topics appear here once the collector has stored audit records.',
        ),
      );
      replace(this.pager);
      return;
    }
    replace(this.tableWrap, this.table(data.topics, z));
    this.renderPager(data.total);
  }

  private table(topics: TopicSummary[], z: Zone): HTMLTableElement {
    const sort = this.p.get('sort') ?? '';
    const desc = sort.startsWith('-');
    const sortKey = sort.replace(/^-/, '');
    const now = Date.now();
    const shared = sharedParams(this.p);
    const head = h(
      'tr',
      null,
      SORTABLE.map(({ key, label }) => {
        if (!SERVER_SORTS.has(key)) return h('th', { scope: 'col' }, label);
        const active = sortKey === key;
        const next = active && !desc ? `-${key}` : key;
        return h(
          'th',
          { scope: 'col', 'aria-sort': active ? (desc ? 'descending' : 'ascending') : 'none' },
          h(
            'button',
            {
              type: 'button',
              class: 'sort' + (active ? ' active' : ''),
              'data-sort': key,
              onclick: () => this.ctx.setParams({ sort: next === 'topic' ? null : next, offset: null }),
            },
            label,
            h('span', { class: 'sort-icon', 'aria-hidden': 'true' }, active ? (desc ? '▼' : '▲') : '↕'),
          ),
        );
      }),
    );
    const rows = topics.map((t) =>
      h(
        'tr',
        { 'data-topic': t.topic, class: `row-${t.status}` },
        h('th', { scope: 'row', class: 'topic-name' }, h('a', { href: hrefFor('topic', t.topic, shared) }, t.topic)),
        h('td', null, statusBadge(t.status)),
        h('td', { class: 'nowrap' }, alertBadge(t.topic, t.alerts, this.p) ?? h('span', { class: 'muted' }, '–')),
        h(
          'td',
          { class: 'nowrap' },
          fmtTime(t.lastFinalWindow, z),
          t.lastWindow !== null && t.lastWindow !== t.lastFinalWindow
            ? h('div', { class: 'sub' }, 'latest ', fmtTime(t.lastWindow, z))
            : null,
        ),
        h('td', null, pairsList(t)),
        h('td', null, p99List(t)),
        h('td', { class: 'nowrap muted' }, fmtAgo(t.lastUpdatedMs, now)),
      ),
    );
    return h(
      'table',
      { class: 'data topics-table', 'data-testid': 'topics-table' },
      h('caption', { class: 'sr-only' }, 'Topics and their audit status'),
      h('thead', null, head),
      h('tbody', null, rows),
    );
  }

  private renderPager(total: number): void {
    const limit = this.limit();
    const offset = this.offset();
    const first = total === 0 ? 0 : offset + 1;
    const last = Math.min(total, offset + limit);
    replace(
      this.pager,
      h('span', { class: 'muted', 'data-testid': 'pager-text' }, `${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(total)}`),
      h('button', { type: 'button', class: 'btn', disabled: offset === 0, onclick: () => this.ctx.setParams({ offset: Math.max(0, offset - limit) || null }) }, '‹ Previous'),
      h('button', { type: 'button', class: 'btn', disabled: last >= total, onclick: () => this.ctx.setParams({ offset: offset + limit }) }, 'Next ›'),
      pageSizeSelect('Topics per page', limit, (n) => this.ctx.setParams({ limit: n, offset: null })),
    );
  }
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${status}`, 'data-status': status }, statusLabel(status));
}

function pairsList(t: TopicSummary): HTMLElement {
  if (t.pairs.length === 0) return h('span', { class: 'muted' }, t.tiers.length <= 1 ? 'one tier only' : '–');
  const bad = t.pairs.filter((p) => p.lost || p.duplicated || p.digestMismatch);
  if (bad.length === 0) {
    return h('span', { class: 'ok-text' }, '✓ ', t.pairs.length === 1 ? `${t.pairs[0].source} → ${t.pairs[0].target} agree` : `all ${t.pairs.length} tier pairs agree`);
  }
  return h(
    'ul',
    { class: 'mini-list' },
    bad.map((p) =>
      h(
        'li',
        { 'data-pair': `${p.source}>${p.target}` },
        h('span', { class: 'pair' }, p.source, h('span', { class: 'arrow' }, ' → '), p.target),
        p.lost ? h('span', { class: 'lost' }, ` −${fmtInt(p.lost)} lost`) : null,
        p.duplicated ? h('span', { class: 'dup' }, ` +${fmtInt(p.duplicated)} duplicated`) : null,
        p.digestMismatch ? h('span', { class: 'lost', title: 'equal counts, different content digests' }, ' digests differ') : null,
      ),
    ),
  );
}

function p99List(t: TopicSummary): HTMLElement {
  const tiers = t.tiers.filter((tier) => t.p99ByTier[tier] !== undefined && t.p99ByTier[tier] !== null);
  if (tiers.length === 0) return h('span', { class: 'muted' }, '–');
  return h(
    'ul',
    { class: 'chips' },
    tiers.map((tier) => h('li', null, h('span', { class: 'tier' }, tier), ' ', h('span', { class: 'num' }, fmtMs(t.p99ByTier[tier])))),
  );
}
