// The loss detector's alerts: the Alerts page (newest first, state filter,
// paging with the API's `before` cursor), and the pieces the other views show
// of them (the overview's badge, the topic page's markers).

import { api, type Alert, type AlertsResponse, type TopicAlerts } from './api';
import { h, replace, segButton } from './dom';
import { fmtAgo, fmtInt, fmtSpan, fmtTime, type Zone } from './format';
import { hrefFor, sharedParams, zone } from './state';
import { Loader, LoadingView, pageSize, pageSizeSelect, type ViewContext } from './view';

// The firing alerts counted in the page head (the detector keeps few at a time).
const FIRING_COUNT_LIMIT = 1000;

export function kindLabel(kind: string): string {
  switch (kind) {
    case 'loss':
      return 'Loss';
    case 'duplicate':
      return 'Duplication';
    case 'digest_mismatch':
      return 'Digests differ';
    case 'silent':
      return 'Silent tier';
    default:
      return kind;
  }
}

function severityLabel(severity: string): string {
  return severity ? severity[0].toUpperCase() + severity.slice(1) : '–';
}

// Epoch seconds of an RFC 3339 time of the API (null when absent or unreadable).
export function rfc3339Sec(t: string | null): number | null {
  if (!t) return null;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

// "producer → regional (dc1)".
export function alertPair(a: Alert): string {
  return `${a.sourceTier} → ${a.targetTier}${a.datacenter ? ` (${a.datacenter})` : ''}`;
}

// "42 lost", "7 duplicated", "digests differ" ... and the windows affected.
export function alertFigures(a: Alert): string {
  const bits: string[] = [];
  if (a.lost) bits.push(`${fmtInt(a.lost)} lost`);
  if (a.duplicated) bits.push(`${fmtInt(a.duplicated)} duplicated`);
  if (!bits.length) bits.push(a.kind === 'digest_mismatch' ? 'equal counts, digests differ' : a.kind === 'silent' ? 'nothing received' : 'no difference');
  return `${bits.join(', ')} in ${fmtInt(a.windows)} window${a.windows === 1 ? '' : 's'}`;
}

// The topic page at the alert's windows (the API's link), keeping the viewer's time zone.
export function alertHref(a: Alert, params: URLSearchParams): string {
  const qi = a.dashboardPath.indexOf('?');
  const target = new URLSearchParams(qi >= 0 ? a.dashboardPath.slice(qi + 1) : '');
  const tz = params.get('tz');
  if (tz) target.set('tz', tz);
  return hrefFor('topic', a.topic, target);
}

export function severityChip(severity: string): HTMLElement {
  return h('span', { class: `sev sev-${severity}`, 'data-severity': severity }, severityLabel(severity));
}

export function stateBadge(state: string): HTMLElement {
  return h(
    'span',
    { class: `badge badge-alert-${state}`, 'data-state': state },
    state === 'firing' ? 'Firing' : state === 'resolved' ? 'Resolved' : state,
  );
}

export function kindChip(kind: string): HTMLElement {
  return h('span', { class: `kind kind-${kind}`, 'data-kind': kind }, kindLabel(kind));
}

// A topic's firing alerts on the overview and the topic page: count and worst
// severity, linking to the Alerts page filtered on the topic.
export function alertBadge(topic: string, alerts: TopicAlerts | undefined, params: URLSearchParams): HTMLElement | null {
  if (!alerts || alerts.firing <= 0) return null;
  const sev = alerts.severity ?? '';
  const n = alerts.firing;
  const link = sharedParams(params);
  link.set('state', 'firing');
  link.set('topic', topic);
  return h(
    'a',
    {
      class: `alert-badge alert-badge-${sev}`,
      href: hrefFor('alerts', '', link),
      'data-testid': 'alert-badge',
      'data-count': n,
      'data-severity': sev,
      title: `${n} firing alert${n === 1 ? '' : 's'}, the worst ${sev || 'of unknown severity'}`,
    },
    h('span', { class: 'alert-icon', 'aria-hidden': 'true' }),
    `${fmtInt(n)} firing`,
    h('span', { class: 'sr-only' }, `, worst severity ${sev}`),
  );
}

export class AlertsView extends LoadingView {
  readonly el: HTMLElement;
  protected readonly loader: Loader;
  private readonly stateBar: HTMLElement;
  private readonly topicFilter: HTMLElement;
  private readonly summaryEl: HTMLElement;
  private readonly errorEl: HTMLElement;
  private readonly tableWrap: HTMLElement;
  private readonly pager: HTMLElement;
  private last: AlertsResponse | null = null;
  private firing: AlertsResponse | null = null;
  // The `before` cursors of the newer pages this one was reached from ('' = the newest).
  private newer: string[] = [];

  constructor(private readonly ctx: ViewContext) {
    super();
    this.stateBar = h('div', { class: 'segmented state-filter', role: 'group', 'aria-label': 'Filter by state' });
    this.topicFilter = h('div', { class: 'topic-filter' });
    this.summaryEl = h('p', { class: 'muted', 'data-testid': 'alerts-summary' });
    this.errorEl = h('div', { class: 'banner error', role: 'alert', hidden: true });
    this.loader = new Loader(this.ctx, this.errorEl);
    this.tableWrap = h('div', { class: 'table-wrap' });
    this.pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
    this.el = h(
      'section',
      { class: 'view alerts', 'aria-labelledby': 'alerts-title' },
      h('div', { class: 'view-head' }, h('h1', { id: 'alerts-title' }, 'Alerts'), this.summaryEl),
      h('div', { class: 'filters' }, this.stateBar, this.topicFilter),
      this.errorEl,
      h('div', { class: 'card' }, this.tableWrap, this.pager),
    );
  }

  protected queryKey(): string {
    return ['state', 'topic', 'before', 'limit'].map((k) => this.p.get(k) ?? '').join('|');
  }

  private limit(): number {
    return pageSize(this.p);
  }

  private stateFilter(): string {
    const s = this.p.get('state');
    return s === 'firing' || s === 'resolved' ? s : '';
  }

  protected async load(): Promise<void> {
    this.loadKey = this.queryKey();
    const state = this.stateFilter() || undefined;
    const topic = this.p.get('topic') || undefined;
    const before = Number(this.p.get('before')) || undefined;
    const limit = this.limit();
    await this.loader.run(
      'Cannot load alerts',
      (signal) =>
        Promise.all([
          api.alerts({ state, topic, limit, before }, signal),
          api.alerts({ state: 'firing', topic, limit: FIRING_COUNT_LIMIT }, signal),
        ]),
      ([page, firing]) => {
        this.last = page;
        this.firing = firing;
        this.render();
      },
      () => {
        if (!this.last) this.render();
      },
    );
  }

  protected render(): void {
    const current = this.stateFilter();
    const topic = this.p.get('topic') ?? '';
    const choices: [string, string][] = [
      ['', 'All'],
      ['firing', 'Firing'],
      ['resolved', 'Resolved'],
    ];
    replace(
      this.stateBar,
      choices.map(([s, label]) =>
        segButton(
          current === s,
          { 'data-state': s || 'all', onclick: () => this.go({ state: s || null }) },
          s ? h('span', { class: `dot dot-alert-${s}`, 'aria-hidden': 'true' }) : null,
          label,
        ),
      ),
    );
    replace(
      this.topicFilter,
      topic
        ? h(
            'span',
            { class: 'filter-chip', 'data-testid': 'topic-filter' },
            'Topic ',
            h('strong', null, topic),
            h('button', { type: 'button', class: 'chip-clear', 'aria-label': `Show the alerts of every topic`, title: 'Every topic', onclick: () => this.go({ topic: null }) }, '×'),
          )
        : null,
    );
    if (this.firing) {
      const n = this.firing.alerts.length;
      const more = this.firing.nextBefore !== null;
      this.summaryEl.textContent =
        (n === 0 ? 'Nothing firing' : `${more ? 'More than ' : ''}${fmtInt(n)} firing`) +
        (topic ? ` on ${topic}` : '') +
        ' · newest first';
    }
    const data = this.last;
    if (!data) {
      replace(this.tableWrap, h('p', { class: 'empty' }, 'Loading…'));
      replace(this.pager);
      return;
    }
    if (data.alerts.length === 0) {
      const what = current === 'firing' ? 'No alert is firing' : current === 'resolved' ? 'No resolved alert' : 'No alerts';
      replace(
        this.tableWrap,
        h(
          'p',
          { class: 'empty' },
          `${what}${topic ? ` on ${topic}` : ''}${this.p.get('before') ? ' before these' : ''}. `,
          current || topic || this.p.get('before')
            ? ''
            : 'The loss detector (chaperone detect) raises an alert when two tiers disagree in final windows, and resolves it when they agree again.',
        ),
      );
    } else {
      replace(this.tableWrap, this.table(data.alerts, zone(this.p)));
    }
    this.renderPager(data);
  }

  // Changes filters: back to the newest page.
  private go(changes: Record<string, string | number | null>): void {
    this.newer = [];
    this.ctx.setParams({ ...changes, before: null });
  }

  private table(alerts: Alert[], z: Zone): HTMLTableElement {
    const now = Date.now();
    const head = h(
      'tr',
      null,
      ['Topic', 'State', 'Severity', 'What', 'Tiers', 'Messages', 'Windows', 'Started', 'Updated'].map((c) => h('th', { scope: 'col' }, c)),
    );
    const rows = alerts.map((a) => {
      const started = rfc3339Sec(a.startsAt);
      const ended = rfc3339Sec(a.endsAt);
      const first = a.firstWindow;
      const last = a.lastWindow;
      return h(
        'tr',
        { 'data-alert-id': a.id, 'data-topic': a.topic, class: a.state === 'firing' ? `firing sev-row-${a.severity}` : 'resolved' },
        h(
          'th',
          { scope: 'row', class: 'topic-name' },
          h('a', { href: alertHref(a, this.p), 'data-testid': 'alert-link', title: 'The topic at the alert’s windows' }, a.topic),
        ),
        h('td', null, stateBadge(a.state)),
        h('td', null, severityChip(a.severity)),
        h('td', { class: 'nowrap' }, kindChip(a.kind)),
        h('td', { class: 'nowrap' }, h('span', { class: 'pair' }, alertPair(a))),
        h(
          'td',
          { class: 'nowrap' },
          a.lost ? h('span', { class: 'lost' }, `−${fmtInt(a.lost)} lost`) : null,
          a.lost && a.duplicated ? ' ' : null,
          a.duplicated ? h('span', { class: 'dup' }, `+${fmtInt(a.duplicated)} duplicated`) : null,
          !a.lost && !a.duplicated ? h('span', { class: 'muted' }, a.kind === 'digest_mismatch' ? 'digests differ' : '–') : null,
          a.sourceMessages ? h('div', { class: 'sub' }, `of ${fmtInt(a.sourceMessages)} at ${a.sourceTier}`) : null,
        ),
        h(
          'td',
          { class: 'nowrap' },
          `${fmtInt(a.windows)} window${a.windows === 1 ? '' : 's'}`,
          first !== null ? h('div', { class: 'sub' }, first === last || last === null ? fmtTime(first, z) : `${fmtTime(first, z)} → ${fmtTime(last, z)}`) : null,
        ),
        h(
          'td',
          { class: 'nowrap' },
          fmtTime(started, z),
          h('div', { class: 'sub' }, ended !== null ? `resolved ${fmtTime(ended, z)}` : started !== null ? `for ${fmtSpan(now / 1000 - started)}` : ''),
        ),
        h('td', { class: 'nowrap muted' }, fmtAgo(Date.parse(a.updatedAt), now)),
      );
    });
    return h(
      'table',
      { class: 'data alerts-table', 'data-testid': 'alerts-table' },
      h('caption', { class: 'sr-only' }, 'Alerts of the loss detector, newest first'),
      h('thead', null, head),
      h('tbody', null, rows),
    );
  }

  private renderPager(data: AlertsResponse): void {
    const before = this.p.get('before');
    const n = data.alerts.length;
    replace(
      this.pager,
      h(
        'span',
        { class: 'muted', 'data-testid': 'pager-text' },
        n === 0 ? '' : `${fmtInt(n)} alert${n === 1 ? '' : 's'}${before ? ` older than alert ${before}` : ''}, newest first`,
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          'data-testid': 'newer',
          disabled: !before,
          onclick: () => this.ctx.setParams({ before: this.newer.pop() || null }),
        },
        '‹ Newer',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          'data-testid': 'older',
          disabled: data.nextBefore === null,
          onclick: () => {
            this.newer.push(before ?? '');
            this.ctx.setParams({ before: data.nextBefore });
          },
        },
        'Older ›',
      ),
      pageSizeSelect('Alerts per page', this.limit(), (n) => this.go({ limit: n })),
    );
  }
}
