/** Tiny DOM helpers: element builder, formatting, announcements, confirmation. */

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('a', {href: '#/x', onclick: fn}, 'text', child)` — attributes, `on*` listeners, nested children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function fmtBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || n < 0 || !Number.isFinite(n)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i ? v.toFixed(2) : v < 100 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fmtMiB(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function timeAgo(seconds: number): string {
  const d = Math.max(0, Date.now() / 1000 - seconds);
  if (d < 60) return `${Math.floor(d)} seconds ago`;
  if (d < 3600) return `${Math.floor(d / 60)} minutes ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} hours ago`;
  return `${Math.floor(d / 86400)} days ago`;
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Says something to screen readers without moving focus. */
export function announce(text: string): void {
  const s = document.getElementById('status');
  if (s) s.textContent = text;
}

/** Shows an error (or notice) the way the API worded it. */
export function toast(text: string, kind: 'error' | 'info' = 'error'): void {
  const box = document.getElementById('toasts')!;
  const t = h('div', { class: `toast ${kind}` }, text, h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'));
  box.appendChild(t);
  setTimeout(() => t.remove(), 8000);
}

/** A modal confirmation (native <dialog>: focus trapped, Escape cancels). */
export function confirmAction(text: string, okLabel = 'Confirm'): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  document.getElementById('confirm-text')!.textContent = text;
  document.getElementById('confirm-ok')!.textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** A table with a caption (for screen readers), header cells and rows. */
export function table(caption: string, headers: string[], rows: Child[][], attrs: Attrs = {}): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))),
    ),
  );
}

export function badge(state: string): HTMLElement {
  return h('span', { class: `badge state-${state}` }, state);
}
