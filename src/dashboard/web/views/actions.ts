/** Container actions, shared by the list and the container page: same API calls as docker, same errors. */
import { api } from '../api.js';
import { announce, confirmAction, fmtBytes, h, toast } from '../dom.js';

export interface ContainerRef {
  Id: string;
  Name: string;
  State: string;
}

async function act(c: ContainerRef, label: string, method: string, path: string): Promise<boolean> {
  try {
    await api(method, path);
    announce(`${label}: ${c.Name}`);
    return true;
  } catch (e) {
    toast(`${label} ${c.Name}: ${(e as Error).message}`);
    return false;
  }
}

/** The buttons that make sense for a container's state; `after` runs once an action succeeded. */
export function actionButtons(c: ContainerRef, after: (removed: boolean) => void): HTMLElement {
  const id = encodeURIComponent(c.Id);
  const btn = (label: string, run: () => Promise<boolean | void>, cls = '', removed = false) =>
    h('button', {
      type: 'button',
      class: cls,
      'aria-label': `${label} ${c.Name}`,
      'data-action': label.toLowerCase(),
      onclick: async (ev: Event) => {
        const b = ev.currentTarget as HTMLButtonElement;
        b.disabled = true;
        try {
          if ((await run()) !== false) after(removed);
        } finally {
          b.disabled = false;
        }
      },
    }, label);
  const running = c.State === 'running';
  const paused = c.State === 'paused';
  return h(
    'div',
    { class: 'actions' },
    !running && !paused && btn('Start', () => act(c, 'Start', 'POST', `/containers/${id}/start`)),
    running && btn('Stop', () => act(c, 'Stop', 'POST', `/containers/${id}/stop`)),
    (running || paused) && btn('Restart', () => act(c, 'Restart', 'POST', `/containers/${id}/restart`)),
    running && btn('Pause', () => act(c, 'Pause', 'POST', `/containers/${id}/pause`)),
    paused && btn('Unpause', () => act(c, 'Unpause', 'POST', `/containers/${id}/unpause`)),
    (running || paused) && btn('Kill', () => act(c, 'Kill', 'POST', `/containers/${id}/kill`), 'danger'),
    btn(
      'Remove',
      async () => {
        const force = running || paused;
        if (!(await confirmAction(`Remove container ${c.Name}${force ? ' (it is running: it will be killed)' : ''}? This cannot be undone.`, 'Remove'))) return false;
        return act(c, 'Remove', 'DELETE', `/containers/${id}?force=${force ? 1 : 0}`);
      },
      'danger',
      true,
    ),
  );
}

/** What a `POST /<kind>/prune` answers: the list of what went under `<Kind>Deleted`, and (but for networks) the bytes freed. */
type PruneResult = Record<string, unknown> & { SpaceReclaimed?: number };

/**
 * A toolbar button that prunes one kind of object after a confirmation and says what went, as `docker <kind> prune`
 * prints; `after` reloads the view.
 */
export function pruneButton(o: { label: string; question: string; kind: 'containers' | 'images' | 'networks' | 'volumes'; after: () => void }): HTMLElement {
  const deletedKey = `${o.kind[0]!.toUpperCase()}${o.kind.slice(1)}Deleted`;
  return h('button', {
    type: 'button',
    class: 'danger',
    onclick: async () => {
      if (!(await confirmAction(o.question, 'Prune'))) return;
      try {
        const r = await api<PruneResult>('POST', `/${o.kind}/prune`);
        const n = (r[deletedKey] as unknown[] | null | undefined)?.length ?? 0;
        toast(`Deleted ${n} ${o.kind}${r.SpaceReclaimed === undefined ? '' : `, reclaimed ${fmtBytes(r.SpaceReclaimed)}`}`, 'info');
        o.after();
      } catch (e) {
        toast((e as Error).message);
      }
    },
  }, o.label);
}
