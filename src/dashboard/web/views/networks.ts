/** Networks: driver, subnet, members with their addresses; prune unused. */
import { get } from '../api.js';
import { clear, h } from '../dom.js';
import { pruneButton } from './actions.js';

interface Network {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
  Containers?: Record<string, { Name: string; IPv4Address: string; MacAddress: string }> | null;
}

export async function networksView(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const list = h('div', { id: 'network-list' });
  root.append(
    h('h1', {}, 'Networks'),
    h('div', { class: 'toolbar' }, pruneButton({ label: 'Prune unused', question: 'Remove all unused networks?', kind: 'networks', after: () => void load() })),
    list,
  );
  const load = async () => {
    const nets = await get<Network[]>('/networks', signal);
    const detailed = await Promise.all(nets.map((n) => get<Network>(`/networks/${encodeURIComponent(n.Id)}`, signal).catch(() => n)));
    clear(list);
    list.appendChild(
      h('ul', { class: 'cards' }, detailed.map((n) => {
        const members = Object.entries(n.Containers ?? {});
        const subnet = (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter(Boolean).join(', ');
        return h(
          'li',
          { class: 'card', 'data-network': n.Name },
          h('div', { class: 'card-head' }, h('strong', {}, n.Name), h('span', { class: 'badge' }, n.Driver)),
          h('div', { class: 'meta' }, subnet || 'no subnet', ` · ${n.Scope}`),
          members.length
            ? h('ul', { class: 'members' }, members.map(([id, m]) => h('li', {}, h('a', { href: `#/containers/${id}` }, m.Name), ' ', h('code', {}, m.IPv4Address || '—'))))
            : h('div', { class: 'meta' }, 'no members'),
        );
      })),
    );
  };
  await load();
}
