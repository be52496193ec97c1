/** Images: size, layers (history), pull with per-layer progress, remove, prune dangling. */
import { api, get, jsonLines } from '../api.js';
import { announce, clear, confirmAction, fmtBytes, h, shortId, timeAgo, toast } from '../dom.js';
import { pruneButton } from './actions.js';

interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  Size: number;
  Created: number;
  Containers: number;
}

export async function imagesView(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const ref = h('input', { id: 'pull-ref', name: 'ref', placeholder: 'e.g. 127.0.0.1:5000/app:latest', required: true, autocomplete: 'off' });
  const progress = h('div', { id: 'pull-progress', 'aria-live': 'polite' });
  const list = h('div', { id: 'image-list' });
  const form = h(
    'form',
    { class: 'toolbar', 'aria-label': 'Pull an image' },
    h('label', { for: 'pull-ref' }, 'Image'),
    ref,
    h('button', { type: 'submit' }, 'Pull'),
    pruneButton({ label: 'Prune dangling', question: 'Remove all dangling images?', kind: 'images', after: () => void load() }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = ref.value.trim();
    if (!value) return;
    // fromImage=name&tag=tag, split where docker splits: the last ':' after the last '/'.
    const slash = value.lastIndexOf('/');
    const colon = value.lastIndexOf(':');
    const at = value.indexOf('@');
    const [name, tag] = at >= 0 ? [value.slice(0, at), value.slice(at + 1)] : colon > slash ? [value.slice(0, colon), value.slice(colon + 1)] : [value, 'latest'];
    clear(progress);
    const layers = new Map<string, { bar: HTMLProgressElement; text: HTMLElement }>();
    const status = h('p', { class: 'pull-status' }, `Pulling ${value}…`);
    progress.appendChild(status);
    try {
      let failed = '';
      await jsonLines('POST', `/images/create?${new URLSearchParams({ fromImage: name, tag })}`, (m: { id?: string; status?: string; error?: string; progressDetail?: { current?: number; total?: number } }) => {
        if (m.error) failed = m.error;
        if (m.id && m.progressDetail) {
          let row = layers.get(m.id);
          if (!row) {
            row = { bar: h('progress', { max: '1', value: '0', 'aria-label': `layer ${m.id}` }), text: h('span', {}) };
            layers.set(m.id, row);
            progress.appendChild(h('div', { class: 'layer' }, h('code', {}, m.id), row.bar, row.text));
          }
          if (m.progressDetail.total) {
            row.bar.max = m.progressDetail.total;
            row.bar.value = m.progressDetail.current ?? 0;
          } else if (/complete|already exists/i.test(m.status ?? '')) {
            row.bar.max = 1;
            row.bar.value = 1;
          }
          row.text.textContent = m.status ?? '';
        } else if (m.status) status.textContent = m.status;
      }, signal);
      if (failed) throw new Error(failed);
      announce(`Pulled ${value}`);
      void load();
    } catch (e) {
      status.textContent = (e as Error).message;
      status.classList.add('error');
      toast((e as Error).message);
    }
  });
  root.append(h('h1', {}, 'Images'), form, progress, list);

  const load = async () => {
    const images = await get<ImageSummary[]>('/images/json', signal);
    clear(list);
    if (!images.length) return void list.appendChild(h('p', { class: 'empty' }, 'No images.'));
    list.appendChild(
      h(
        'ul',
        { class: 'cards' },
        images.map((img) => {
          const label = img.RepoTags?.filter((t) => t !== '<none>:<none>').join(', ') || `<none> ${shortId(img.Id)}`;
          const layersBox = h('div', { class: 'history', hidden: true });
          const toggle = h('button', {
            type: 'button',
            'aria-expanded': 'false',
            onclick: async () => {
              const open = toggle.getAttribute('aria-expanded') === 'true';
              toggle.setAttribute('aria-expanded', String(!open));
              layersBox.hidden = open;
              if (!open && !layersBox.firstChild) {
                try {
                  const hist = await get<Array<{ Created: number; CreatedBy: string; Size: number }>>(`/images/${encodeURIComponent(img.Id)}/history`, signal);
                  layersBox.appendChild(h('ol', { class: 'layers' }, hist.map((l) => h('li', {}, h('span', { class: 'size' }, fmtBytes(l.Size)), ' ', h('code', {}, l.CreatedBy || '—')))));
                } catch (e) {
                  layersBox.appendChild(h('p', { class: 'error' }, (e as Error).message));
                }
              }
            },
          }, 'Layers');
          return h(
            'li',
            { class: 'card', 'data-image': label },
            h('div', { class: 'card-head' }, h('strong', {}, label), h('span', { class: 'size' }, fmtBytes(img.Size))),
            h('div', { class: 'meta' }, shortId(img.Id), ' · created ', timeAgo(img.Created)),
            h(
              'div',
              { class: 'actions' },
              toggle,
              h('button', {
                type: 'button',
                class: 'danger',
                'aria-label': `Remove image ${label}`,
                onclick: async () => {
                  if (!(await confirmAction(`Remove image ${label}?`, 'Remove'))) return;
                  try {
                    await api('DELETE', `/images/${encodeURIComponent(img.RepoTags?.[0] && img.RepoTags[0] !== '<none>:<none>' ? img.RepoTags[0] : img.Id)}`);
                    announce(`Removed ${label}`);
                    void load();
                  } catch (e) {
                    toast((e as Error).message);
                  }
                },
              }, 'Remove'),
            ),
            layersBox,
          );
        }),
      ),
    );
  };
  await load();
}
