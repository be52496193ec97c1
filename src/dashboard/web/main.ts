/**
 * The dashboard page: a hash router over the views. Each view gets the <main> element and an AbortSignal that ends
 * its live streams (events, logs, stats, terminal) when the user navigates away.
 */
import { clear, h, toast } from './dom.js';
import { containersView } from './views/containers.js';
import { containerView } from './views/container.js';
import { imagesView } from './views/images.js';
import { volumesView } from './views/volumes.js';
import { networksView } from './views/networks.js';
import { systemView } from './views/system.js';

export type View = (root: HTMLElement, signal: AbortSignal, params: string[]) => void | Promise<void>;

const routes: Array<[RegExp, View, string]> = [
  [/^#\/containers\/([^/]+)(?:\/(overview|logs|stats|terminal))?$/, containerView, 'containers'],
  [/^#\/(?:containers)?$/, containersView, 'containers'],
  [/^#\/images$/, imagesView, 'images'],
  [/^#\/volumes$/, volumesView, 'volumes'],
  [/^#\/networks$/, networksView, 'networks'],
  [/^#\/system$/, systemView, 'system'],
];

let current: AbortController | undefined;

function render(): void {
  current?.abort();
  const ctl = new AbortController();
  current = ctl;
  const main = document.getElementById('main')!;
  clear(main);
  const hash = location.hash || '#/containers';
  for (const [re, view, section] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-section]')) {
      if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    Promise.resolve(view(main, ctl.signal, m.slice(1).map((x) => (x === undefined ? '' : decodeURIComponent(x))))).catch((e: Error) => {
      if (e.name === 'AbortError' || ctl.signal.aborted) return;
      main.appendChild(h('p', { class: 'error' }, e.message));
      toast(e.message);
    });
    return;
  }
  main.appendChild(h('p', {}, 'Page not found. ', h('a', { href: '#/containers' }, 'Containers')));
}

window.addEventListener('hashchange', render);
render();
