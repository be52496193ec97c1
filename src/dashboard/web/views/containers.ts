/**
 * Containers, grouped by compose project (the `com.docker.compose.project` label), kept live from the events
 * stream: every container event triggers one refresh of the list (coalesced while one is in flight).
 */
import { get, jsonLines } from '../api.js';
import { announce, badge, clear, h, toast } from '../dom.js';
import { actionButtons, pruneButton } from './actions.js';

interface Summary {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Created: number;
  Labels: Record<string, string> | null;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
}

export function portLinks(ports: Summary['Ports']): HTMLElement {
  const seen = new Set<string>();
  return h(
    'span',
    { class: 'ports' },
    ports
      .filter((p) => {
        const k = `${p.PublicPort}/${p.PrivatePort}/${p.Type}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .map((p) =>
        p.PublicPort
          ? h('a', { href: `http://${!p.IP || p.IP === '0.0.0.0' || p.IP === '::' ? location.hostname : p.IP}:${p.PublicPort}/`, target: '_blank', rel: 'noopener' }, `${p.PublicPort}→${p.PrivatePort}/${p.Type}`)
          : h('span', {}, `${p.PrivatePort}/${p.Type}`),
      ),
  );
}

export async function containersView(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const search = h('input', { type: 'search', id: 'container-search', placeholder: 'name, image, project…', autocomplete: 'off' });
  const state = h(
    'select',
    { id: 'container-state' },
    ['all', 'running', 'paused', 'exited', 'created'].map((s) => h('option', { value: s }, s)),
  );
  const list = h('div', { id: 'container-list', 'aria-live': 'polite', 'aria-busy': 'true' });
  const prune = pruneButton({ label: 'Prune stopped', question: 'Remove all stopped containers?', kind: 'containers', after: () => void refresh() });
  root.append(
    h('h1', {}, 'Containers'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'container-search' }, 'Search'),
      search,
      h('label', { for: 'container-state' }, 'State'),
      state,
      prune,
    ),
    list,
  );

  let all: Summary[] = [];
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = all.filter((c) => {
      if (state.value !== 'all' && c.State !== state.value) return false;
      if (!q) return true;
      const project = c.Labels?.['com.docker.compose.project'] ?? '';
      return [c.Names.join(' '), c.Image, c.Id, project, c.Status].some((x) => x.toLowerCase().includes(q));
    });
    const groups = new Map<string, Summary[]>();
    for (const c of shown) {
      const p = c.Labels?.['com.docker.compose.project'] ?? '';
      if (!groups.has(p)) groups.set(p, []);
      groups.get(p)!.push(c);
    }
    clear(list);
    list.setAttribute('aria-busy', 'false');
    if (!shown.length) list.appendChild(h('p', { class: 'empty' }, all.length ? 'No container matches.' : 'No containers yet. Run one with `docker run`.'));
    const names = [...groups.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
    for (const g of names) {
      const rows = groups.get(g)!.sort((a, b) => a.Names[0].localeCompare(b.Names[0]));
      list.appendChild(
        h(
          'section',
          { class: 'group', 'aria-label': g ? `Compose project ${g}` : 'Standalone containers' },
          h('h2', {}, g ? `${g} (compose project)` : 'Standalone', h('span', { class: 'count' }, ` ${rows.length}`)),
          h(
            'ul',
            { class: 'cards' },
            rows.map((c) => {
              const name = c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
              return h(
                'li',
                { class: 'card container', 'data-name': name, 'data-state': c.State },
                h('div', { class: 'card-head' }, h('a', { href: `#/containers/${encodeURIComponent(c.Id)}`, class: 'name' }, name), badge(c.State)),
                h('div', { class: 'meta' }, h('span', {}, c.Image), ' · ', h('span', {}, c.Status), ' ', portLinks(c.Ports)),
                actionButtons({ Id: c.Id, Name: name, State: c.State }, () => void refresh()),
              );
            }),
          ),
        ),
      );
    }
  };
  search.addEventListener('input', draw);
  state.addEventListener('change', draw);

  let inFlight: Promise<void> | undefined;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      do {
        again = false;
        all = await get<Summary[]>('/containers/json?all=1', signal);
        draw();
      } while (again && !signal.aborted);
    })().finally(() => (inFlight = undefined));
    return inFlight;
  };

  // Subscribe first, then list: no event between the two is missed.
  const events = jsonLines('GET', `/events?filters=${encodeURIComponent(JSON.stringify({ type: ['container'] }))}`, (ev: { Action?: string }) => {
    if (ev.Action?.startsWith('exec_')) return;
    void refresh().catch(() => {});
  }, signal);
  events.catch((e: Error) => {
    if (!signal.aborted) toast(`events stream ended: ${e.message}`);
  });
  await refresh();
  announce(`${all.length} containers`);
}
