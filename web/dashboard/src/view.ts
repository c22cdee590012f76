import { ApiError } from './api';
import type { Toolbar } from './controls';
import { h } from './dom';
import type { Route } from './state';

export interface ViewContext {
  toolbar: Toolbar;
  // Changes keys of the current URL (null deletes a key). `replace` keeps the
  // browser history short for typing in a search box.
  setParams(changes: Record<string, string | number | null>, replace?: boolean): void;
  nowSec(): number;
}

export interface View {
  readonly el: HTMLElement;
  update(route: Route): void; // the URL changed, same view
  refresh(): void; // reload the data (auto-refresh, Refresh button)
  redraw(): void; // colours changed (theme)
  destroy(): void;
}

export function statusLabel(s: string): string {
  switch (s) {
    case 'healthy':
      return 'Healthy';
    case 'loss':
      return 'Loss';
    case 'delay':
      return 'Delay';
    case 'no_data':
      return 'No data';
    case 'stale_emitter':
      return 'Stale emitter';
    default:
      return s;
  }
}

// One view's data loads: a new load aborts the one in flight; the toolbar
// says loading / updated / failed, and the view's error banner says why.
export class Loader {
  private abort: AbortController | null = null;

  constructor(
    private readonly ctx: ViewContext,
    private readonly errorEl: HTMLElement,
  ) {}

  // Runs `fetch`, then `done` with its result; on failure (not on abort),
  // shows "<what>: <message>" and calls `failed`.
  async run<T>(what: string, fetch: (signal: AbortSignal) => Promise<T>, done: (value: T) => void, failed: () => void): Promise<void> {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const now = this.ctx.nowSec();
    this.ctx.toolbar.setStatus('loading', now);
    try {
      const value = await fetch(abort.signal);
      this.errorEl.hidden = true;
      this.ctx.toolbar.setStatus('ok', now);
      done(value);
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      const msg = e instanceof ApiError ? e.message : String(e);
      this.errorEl.textContent = `${what}: ${msg}`;
      this.errorEl.hidden = false;
      this.ctx.toolbar.setStatus('error', now, msg);
      failed();
    }
  }

  cancel(): void {
    this.abort?.abort();
  }
}

// A view whose data depends on some keys of the URL: update() loads again
// when they changed (queryKey) and only renders otherwise; refresh() loads;
// destroy() cancels the load in flight. load() records the key it loads.
export abstract class LoadingView implements View {
  abstract readonly el: HTMLElement;
  protected route!: Route;
  protected loadKey = '';
  protected abstract readonly loader: Loader;

  protected abstract queryKey(): string;
  protected abstract load(): Promise<void>;
  protected abstract render(): void;

  update(route: Route): void {
    this.route = route;
    if (this.queryKey() !== this.loadKey) this.load();
    else this.render();
  }

  refresh(): void {
    this.load();
  }

  redraw(): void {}

  destroy(): void {
    this.loader.cancel();
  }

  protected get p(): URLSearchParams {
    return this.route.params;
  }
}

// Rows per page of the paged tables (`limit` in the URL).
export const PAGE_SIZES = [50, 100, 250, 500];
export const DEFAULT_PAGE_SIZE = 100;

export function pageSize(params: URLSearchParams): number {
  const l = Number(params.get('limit'));
  return PAGE_SIZES.includes(l) ? l : DEFAULT_PAGE_SIZE;
}

// The pager's "N per page" choice.
export function pageSizeSelect(label: string, current: number, choose: (n: number) => void): HTMLSelectElement {
  const select = h(
    'select',
    { 'aria-label': label, onchange: (e: Event) => choose(Number((e.target as HTMLSelectElement).value)) },
    PAGE_SIZES.map((n) => h('option', { value: n }, `${n} per page`)),
  );
  select.value = String(current);
  return select;
}
