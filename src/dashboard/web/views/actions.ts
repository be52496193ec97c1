/** Container actions, shared by the list and the container page: same API calls as docker, same errors. */
import { api } from '../api.js';
import { announce, confirmAction, h, toast } from '../dom.js';

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
