// Chaperone dashboard: hash router, shared toolbar, auto-refresh and theme.

import 'uplot/dist/uPlot.min.css';
import './style.css';

import { Toolbar } from './controls';
import { h, replace } from './dom';
import { AlertsView } from './alerts';
import { DiffView } from './diff';
import { OverviewView } from './overview';
import { hrefFor, parseHash, refreshSec, sharedParams, withParams, type Route } from './state';
import { TopicView } from './topic';
import type { View, ViewContext } from './view';

type Theme = 'auto' | 'light' | 'dark';
const THEME_KEY = 'chaperone.theme';

class App {
  private route: Route = parseHash(location.hash);
  private view: View | null = null;
  private viewKey = '';
  private timer = 0;
  private timerSec = 0;
  private readonly main: HTMLElement;
  private readonly toolbar: Toolbar;
  private readonly themeBtn: HTMLButtonElement;
  private readonly nav: HTMLElement;

  constructor(root: HTMLElement) {
    this.toolbar = new Toolbar(
      (changes) => this.setParams(changes),
      () => this.view?.refresh(),
    );
    this.themeBtn = h('button', { type: 'button', class: 'btn btn-ghost theme-toggle', onclick: () => this.cycleTheme() });
    this.main = h('main', { id: 'main', tabindex: '-1' });
    this.nav = h('nav', { class: 'app-nav', 'aria-label': 'Sections' });
    root.append(
      h('a', { class: 'skip-link', href: '#main', onclick: (e: Event) => (e.preventDefault(), this.main.focus()) }, 'Skip to content'),
      h(
        'header',
        { class: 'app-header' },
        h(
          'a',
          { class: 'brand', href: '#/' },
          h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
          h('span', null, 'Chaperone'),
          h('span', { class: 'brand-sub' }, 'Kafka pipeline audit'),
        ),
        this.nav,
        this.themeBtn,
      ),
      h('div', { class: 'app-toolbar' }, this.toolbar.el),
      this.main,
    );
    this.applyTheme(this.theme());
    window.addEventListener('hashchange', () => this.onRoute());
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      if (this.theme() === 'auto') this.view?.redraw();
    });
    document.addEventListener('visibilitychange', () => this.schedule());
    this.onRoute();
  }

  // For the browser tests and debugging in the console.
  get current(): View | null {
    return this.view;
  }

  private ctx(): ViewContext {
    return {
      toolbar: this.toolbar,
      setParams: (changes, replace) => this.setParams(changes, replace),
      nowSec: () => Math.floor(Date.now() / 1000),
    };
  }

  private setParams(changes: Record<string, string | number | null>, replace = false): void {
    const params = withParams(this.route.params, changes);
    const href = hrefFor(this.route.view, this.route.topic, params);
    if (replace) {
      history.replaceState(null, '', href);
      this.onRoute();
    } else {
      location.hash = href; // fires hashchange
    }
  }

  private onRoute(): void {
    this.route = parseHash(location.hash);
    if (this.route.view === 'overview') sessionStorage.setItem('chaperone.overview', this.route.params.toString());
    if (this.route.view === 'alerts') sessionStorage.setItem('chaperone.alerts', this.route.params.toString());
    const key = `${this.route.view}:${this.route.topic}`;
    if (key !== this.viewKey || !this.view) {
      this.view?.destroy();
      this.viewKey = key;
      this.view =
        this.route.view === 'topic'
          ? new TopicView(this.ctx(), this.route.topic)
          : this.route.view === 'diff'
            ? new DiffView(this.ctx(), this.route.topic)
            : this.route.view === 'alerts'
              ? new AlertsView(this.ctx())
              : new OverviewView(this.ctx());
      this.main.replaceChildren(this.view.el);
      document.title =
        this.route.view === 'topic'
          ? `${this.route.topic} · Chaperone`
          : this.route.view === 'diff'
            ? `Missing messages · ${this.route.topic} · Chaperone`
            : this.route.view === 'alerts'
              ? 'Alerts · Chaperone'
              : 'Topics · Chaperone';
      window.scrollTo(0, 0);
    }
    this.renderNav();
    // Alerts are listed newest first, and a diff is of one window: neither has a range.
    this.toolbar.showRange(this.route.view !== 'alerts' && this.route.view !== 'diff');
    this.toolbar.update(this.route.params, Math.floor(Date.now() / 1000));
    this.view.update(this.route);
    this.schedule();
  }

  // Topics (back to the overview as last seen) and Alerts, keeping the shared keys.
  private renderNav(): void {
    const shared = sharedParams(this.route.params);
    const overview = new URLSearchParams(sessionStorage.getItem('chaperone.overview') ?? '');
    for (const [k, v] of shared) overview.set(k, v);
    const alertsParams = new URLSearchParams(sessionStorage.getItem('chaperone.alerts') ?? '');
    for (const [k, v] of shared) alertsParams.set(k, v);
    const link = (label: string, href: string, current: boolean) =>
      h('a', { class: 'nav-link' + (current ? ' active' : ''), href, 'aria-current': current ? 'page' : null }, label);
    replace(
      this.nav,
      link('Topics', hrefFor('overview', '', overview), this.route.view !== 'alerts'),
      link('Alerts', hrefFor('alerts', '', alertsParams), this.route.view === 'alerts'),
    );
  }

  // Auto-refresh: every `refresh` seconds while the page is visible. Not a
  // diff: it reads a whole window from Kafka (the Refresh button runs it again).
  private schedule(): void {
    const sec = document.hidden || this.route.view === 'diff' ? 0 : refreshSec(this.route.params);
    if (sec === this.timerSec) return;
    window.clearInterval(this.timer);
    this.timerSec = sec;
    if (sec > 0) {
      this.timer = window.setInterval(() => {
        this.toolbar.update(this.route.params, Math.floor(Date.now() / 1000));
        this.view?.refresh();
      }, sec * 1000);
    }
  }

  private theme(): Theme {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'light' || t === 'dark' ? t : 'auto';
  }

  private applyTheme(t: Theme): void {
    if (t === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = t;
    const label = { auto: 'Theme: auto', light: 'Theme: light', dark: 'Theme: dark' }[t];
    this.themeBtn.textContent = { auto: '◐', light: '☀', dark: '☾' }[t];
    this.themeBtn.title = label + ' (click to change)';
    this.themeBtn.setAttribute('aria-label', label);
  }

  private cycleTheme(): void {
    const next: Theme = { auto: 'light', light: 'dark', dark: 'auto' }[this.theme()] as Theme;
    if (next === 'auto') localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, next);
    this.applyTheme(next);
    this.view?.redraw();
  }
}

declare global {
  interface Window {
    chaperoneDashboard?: App;
  }
}

window.chaperoneDashboard = new App(document.getElementById('app')!);
