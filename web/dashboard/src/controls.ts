// The toolbar shared by every view: time range (presets + custom), auto-refresh,
// time zone, and when the data was last loaded.

import { h, replace, segButton } from './dom';
import { fmtClock, fmtTime, fromInputValue, toInputValue, zoneLabel } from './format';
import { MAX_RANGE_SEC, PRESETS, REFRESH_CHOICES, refreshSec, resolveRange, zone } from './state';

export type SetParams = (changes: Record<string, string | number | null>) => void;

export class Toolbar {
  readonly el: HTMLElement;
  private params = new URLSearchParams();
  private readonly presetGroup: HTMLElement;
  private readonly customBox: HTMLElement;
  private readonly fromInput: HTMLInputElement;
  private readonly toInput: HTMLInputElement;
  private readonly customError: HTMLElement;
  private readonly rangeText: HTMLElement;
  private readonly refreshToggle: HTMLInputElement;
  private readonly refreshSelect: HTMLSelectElement;
  private readonly tzSelect: HTMLSelectElement;
  private readonly statusEl: HTMLElement;
  private customOpen = false;
  private rangeShown = true;

  constructor(
    private readonly set: SetParams,
    private readonly refreshNow: () => void,
  ) {
    this.presetGroup = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' });
    this.fromInput = h('input', { type: 'datetime-local', id: 'range-from', step: 60 });
    this.toInput = h('input', { type: 'datetime-local', id: 'range-to', step: 60 });
    this.customError = h('span', { class: 'field-error', role: 'alert' });
    this.customBox = h(
      'form',
      { class: 'custom-range', hidden: true, onsubmit: (e: Event) => this.applyCustom(e) },
      h('label', { for: 'range-from' }, 'From'),
      this.fromInput,
      h('label', { for: 'range-to' }, 'To'),
      this.toInput,
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'),
      this.customError,
    );
    this.rangeText = h('span', { class: 'range-text', 'data-testid': 'range-text' });
    this.refreshToggle = h('input', {
      type: 'checkbox',
      id: 'auto-refresh',
      onchange: () => this.set({ refresh: this.refreshToggle.checked ? Number(this.refreshSelect.value) : null }),
    });
    this.refreshSelect = h(
      'select',
      {
        'aria-label': 'Auto-refresh interval',
        onchange: () => {
          if (this.refreshToggle.checked) this.set({ refresh: Number(this.refreshSelect.value) });
        },
      },
      REFRESH_CHOICES.map((s) => h('option', { value: s }, s < 60 ? `${s} s` : `${s / 60} min`)),
    );
    this.refreshSelect.value = '30';
    this.tzSelect = h(
      'select',
      { 'aria-label': 'Time zone', onchange: () => this.set({ tz: this.tzSelect.value === 'local' ? 'local' : null }) },
      h('option', { value: 'utc' }, 'UTC'),
      h('option', { value: 'local' }, 'Local time'),
    );
    this.statusEl = h('span', { class: 'load-status', 'aria-live': 'polite', 'data-testid': 'load-status' });
    this.el = h(
      'div',
      { class: 'toolbar' },
      h('div', { class: 'toolbar-row' }, this.presetGroup, this.rangeText),
      h(
        'div',
        { class: 'toolbar-row toolbar-right' },
        h('label', { class: 'check' }, this.refreshToggle, 'Auto-refresh'),
        this.refreshSelect,
        h('button', { type: 'button', class: 'btn', onclick: () => this.refreshNow(), title: 'Reload the data now' }, 'Refresh'),
        this.tzSelect,
        this.statusEl,
      ),
      this.customBox,
    );
  }

  update(params: URLSearchParams, nowSec: number): void {
    this.params = params;
    const r = resolveRange(params, nowSec);
    const z = zone(params);
    replace(
      this.presetGroup,
      [...Object.keys(PRESETS), 'custom'].map((p) =>
        segButton(
          r.preset === p,
          {
            'data-range': p,
            onclick: () => (p === 'custom' ? this.openCustom() : this.set({ range: p === '24h' ? null : p, from: null, to: null })),
          },
          p === 'custom' ? 'Custom…' : p,
        ),
      ),
    );
    const minute = (t: number) => Math.floor(t / 60) * 60;
    this.rangeText.textContent = `${fmtTime(minute(r.from), z)} → ${r.preset === 'custom' ? fmtTime(minute(r.to), z) : 'now'} (${zoneLabel(z)})`;
    if (r.preset === 'custom' || this.customOpen) {
      this.fromInput.value = toInputValue(r.from, z);
      this.toInput.value = toInputValue(r.to, z);
    }
    this.customBox.hidden = !this.rangeShown || !(this.customOpen || r.preset === 'custom');
    this.presetGroup.hidden = !this.rangeShown;
    this.rangeText.hidden = !this.rangeShown;
    const rs = refreshSec(params);
    this.refreshToggle.checked = rs > 0;
    if (rs > 0) {
      if (!REFRESH_CHOICES.includes(rs)) this.refreshSelect.append(h('option', { value: rs }, `${rs} s`));
      this.refreshSelect.value = String(rs);
    }
    this.tzSelect.value = z;
  }

  // The time range applies to the topics and a topic's page, not to the alerts
  // list; takes effect at the next update().
  showRange(shown: boolean): void {
    this.rangeShown = shown;
  }

  setStatus(state: 'loading' | 'ok' | 'error', nowSec: number, message = ''): void {
    this.statusEl.className = 'load-status ' + state;
    const z = zone(this.params);
    this.statusEl.textContent =
      state === 'loading' ? 'Loading…' : state === 'ok' ? `Updated ${fmtClock(nowSec, z)}` : `Update failed: ${message}`;
  }

  private openCustom(): void {
    this.customOpen = true;
    const r = resolveRange(this.params, Math.floor(Date.now() / 1000));
    const z = zone(this.params);
    this.fromInput.value = toInputValue(r.from, z);
    this.toInput.value = toInputValue(r.to, z);
    this.customBox.hidden = false;
    this.fromInput.focus();
  }

  private applyCustom(e: Event): void {
    e.preventDefault();
    const z = zone(this.params);
    const from = fromInputValue(this.fromInput.value, z);
    const to = fromInputValue(this.toInput.value, z);
    if (from === null || to === null) {
      this.customError.textContent = 'Enter both times.';
      return;
    }
    if (to <= from) {
      this.customError.textContent = '“To” must be after “From”.';
      return;
    }
    if (to - from > MAX_RANGE_SEC) {
      this.customError.textContent = 'A range may span at most 90 days.';
      return;
    }
    this.customError.textContent = '';
    this.customOpen = false;
    this.set({ range: 'custom', from, to });
  }
}
