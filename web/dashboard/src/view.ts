import type { Toolbar } from './controls';
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
