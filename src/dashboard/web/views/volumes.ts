/** Volumes: driver, size and users (from system df and the containers' mounts), remove, prune. */
import { api, get } from '../api.js';
import { clear, confirmAction, fmtBytes, h, toast } from '../dom.js';
import { pruneButton } from './actions.js';

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

export async function volumesView(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const list = h('div', { id: 'volume-list' });
  root.append(
    h('h1', {}, 'Volumes'),
    h('div', { class: 'toolbar' }, pruneButton({ label: 'Prune unused', question: 'Remove all unused anonymous volumes?', kind: 'volumes', after: () => void load() })),
    list,
  );
  const load = async () => {
    const [vols, df, containers] = await Promise.all([
      get<{ Volumes: Volume[] | null }>('/volumes', signal),
      get<{ Volumes: Volume[] | null }>('/system/df', signal),
      get<Array<{ Id: string; Names: string[]; Mounts: Array<{ Type: string; Name?: string }> }>>('/containers/json?all=1', signal),
    ]);
    const usage = new Map((df.Volumes ?? []).map((v) => [v.Name, v.UsageData]));
    clear(list);
    if (!vols.Volumes?.length) return void list.appendChild(h('p', { class: 'empty' }, 'No volumes.'));
    list.appendChild(
      h('ul', { class: 'cards' }, vols.Volumes.map((v) => {
        const users = containers.filter((c) => c.Mounts.some((m) => m.Type === 'volume' && m.Name === v.Name));
        return h(
          'li',
          { class: 'card', 'data-volume': v.Name },
          h('div', { class: 'card-head' }, h('strong', {}, v.Name.length > 40 ? `${v.Name.slice(0, 12)}…` : v.Name), h('span', { class: 'size' }, fmtBytes(usage.get(v.Name)?.Size))),
          h('div', { class: 'meta' }, `${v.Driver} · `, h('code', {}, v.Mountpoint)),
          h('div', { class: 'meta' }, 'Used by: ', users.length ? users.map((c, i) => [i ? ', ' : '', h('a', { href: `#/containers/${c.Id}` }, c.Names[0].replace(/^\//, ''))]) : 'no container'),
          h('div', { class: 'actions' }, h('button', {
            type: 'button',
            class: 'danger',
            'aria-label': `Remove volume ${v.Name}`,
            onclick: async () => {
              if (!(await confirmAction(`Remove volume ${v.Name}? Its data is lost.`, 'Remove'))) return;
              try {
                await api('DELETE', `/volumes/${encodeURIComponent(v.Name)}`);
                void load();
              } catch (e) {
                toast((e as Error).message);
              }
            },
          }, 'Remove')),
        );
      })),
    );
  };
  await load();
}
