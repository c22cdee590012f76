// A minimal element builder: h('a', {href: '#', onclick: fn}, 'text', child).

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | EventListener;
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') {
        el.addEventListener(name.slice(2), value as EventListener);
      } else if (name === 'class') {
        el.className = String(value);
      } else if (name === 'value' && 'value' in el) {
        (el as unknown as { value: string }).value = String(value);
      } else if (name === 'checked' && 'checked' in el) {
        (el as unknown as { checked: boolean }).checked = Boolean(value);
      } else {
        el.setAttribute(name, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

let debounceTimers = new WeakMap<object, number>();
export function debounce(key: object, ms: number, fn: () => void): void {
  const prev = debounceTimers.get(key);
  if (prev !== undefined) window.clearTimeout(prev);
  debounceTimers.set(key, window.setTimeout(fn, ms));
}
export function resetDebounce(): void {
  debounceTimers = new WeakMap();
}

// A button of a segmented group ('.segmented'): pressed or not.
export function segButton(pressed: boolean, attrs: Attrs, ...children: Child[]): HTMLButtonElement {
  return h('button', { type: 'button', class: 'seg' + (pressed ? ' active' : ''), 'aria-pressed': pressed ? 'true' : 'false', ...attrs }, ...children);
}
