/** One container: overview (inspect summary, env, mounts, ports, health, processes), logs, live stats, terminal. */
import { get, logStream } from '../api.js';
import { badge, clear, fmtBytes, h, shortId, toast } from '../dom.js';
import { actionButtons } from './actions.js';
import { portLinks } from './containers.js';

interface Inspect {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Image: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; Paused: boolean; ExitCode: number; StartedAt: string; FinishedAt: string; Error?: string; Health?: { Status: string; FailingStreak: number; Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }> } };
  Config: { Image: string; Env: string[] | null; Labels: Record<string, string> | null; Tty: boolean; Cmd: string[] | null; Entrypoint: string[] | null; WorkingDir: string; User: string };
  HostConfig: { RestartPolicy?: { Name: string }; NetworkMode: string };
  Mounts: Array<{ Type: string; Name?: string; Source: string; Destination: string; RW: boolean }>;
  NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null; Networks: Record<string, { IPAddress: string; Gateway: string; MacAddress: string }> };
}

const tabs = ['overview', 'logs', 'stats', 'terminal'] as const;

export async function containerView(root: HTMLElement, signal: AbortSignal, params: string[]): Promise<void> {
  const id = params[0];
  const tab = (params[1] || 'overview') as (typeof tabs)[number];
  const c = await get<Inspect>(`/containers/${encodeURIComponent(id)}/json`, signal);
  const name = c.Name.replace(/^\//, '');
  const base = `#/containers/${encodeURIComponent(c.Id)}`;
  root.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/containers' }, 'Containers'), ' / ', name),
    h('div', { class: 'title-row' }, h('h1', {}, name), badge(c.State.Status), actionButtons({ Id: c.Id, Name: name, State: c.State.Status }, (removed) => {
      if (removed) location.hash = '#/containers';
      else window.dispatchEvent(new HashChangeEvent('hashchange'));
    })),
    h('nav', { class: 'tabs', 'aria-label': 'Container views' }, tabs.map((t) => h('a', { href: `${base}/${t}`, 'aria-current': t === tab ? 'page' : null, 'data-tab': t }, t[0].toUpperCase() + t.slice(1)))),
  );
  const body = h('section', { class: 'tab-body', 'aria-label': tab });
  root.appendChild(body);
  if (tab === 'overview') await overview(body, c, signal);
  else if (tab === 'logs') logs(body, c, signal);
  else if (tab === 'stats') await (await import('./stats.js')).statsView(body, c.Id, signal);
  else if (tab === 'terminal') await (await import('./terminal.js')).terminalView(body, c.Id, c.State.Running && !c.State.Paused, signal);
}

function dl(pairs: Array<[string, unknown]>): HTMLElement {
  return h('dl', { class: 'kv' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : String(v ?? '—'))]));
}

async function overview(body: HTMLElement, c: Inspect, signal: AbortSignal): Promise<void> {
  const ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> = [];
  for (const [k, binds] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    const [port, type] = k.split('/');
    if (!binds?.length) ports.push({ PrivatePort: Number(port), Type: type });
    for (const b of binds ?? []) ports.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  const nets = Object.entries(c.NetworkSettings.Networks ?? {});
  body.append(
    h('h2', {}, 'Summary'),
    dl([
      ['ID', shortId(c.Id)],
      ['Image', c.Config.Image],
      ['Command', [...(c.Config.Entrypoint ?? []), ...(c.Config.Cmd ?? [])].join(' ')],
      ['Created', new Date(c.Created).toLocaleString()],
      ['Started', c.State.StartedAt && !c.State.StartedAt.startsWith('0001') ? new Date(c.State.StartedAt).toLocaleString() : '—'],
      ['Exit code', c.State.Running ? '—' : c.State.ExitCode],
      ['Restart policy', c.HostConfig.RestartPolicy?.Name || 'no'],
      ['Restarts', c.RestartCount],
      ['Ports', ports.length ? portLinks(ports) : '—'],
      ['Networks', nets.map(([n, s]) => `${n} ${s.IPAddress || ''}`.trim()).join(', ') || c.HostConfig.NetworkMode],
      ['Health', c.State.Health ? `${c.State.Health.Status} (failing streak ${c.State.Health.FailingStreak})` : 'no healthcheck'],
      ['Error', c.State.Error || '—'],
    ]),
  );
  if (c.State.Health?.Log?.length)
    body.append(
      h('h2', {}, 'Health history'),
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Start', 'Exit', 'Output'].map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, c.State.Health.Log.map((l) => h('tr', {}, h('td', {}, new Date(l.Start).toLocaleTimeString()), h('td', {}, l.ExitCode), h('td', {}, h('code', {}, l.Output.trim()))))))),
    );
  body.append(
    h('h2', {}, 'Environment'),
    (c.Config.Env ?? []).length ? h('ul', { class: 'env' }, (c.Config.Env ?? []).map((e) => h('li', {}, h('code', {}, e)))) : h('p', {}, 'none'),
    h('h2', {}, 'Mounts'),
    c.Mounts.length
      ? h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Type', 'Source', 'Destination', 'Mode'].map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, c.Mounts.map((m) => h('tr', {}, h('td', {}, m.Type), h('td', {}, m.Name ?? m.Source), h('td', {}, m.Destination), h('td', {}, m.RW ? 'rw' : 'ro'))))))
      : h('p', {}, 'none'),
    h('h2', {}, 'Labels'),
    Object.keys(c.Config.Labels ?? {}).length ? h('ul', { class: 'env' }, Object.entries(c.Config.Labels ?? {}).map(([k, v]) => h('li', {}, h('code', {}, `${k}=${v}`)))) : h('p', {}, 'none'),
  );
  const procs = h('div', { id: 'processes' }, h('p', {}, c.State.Running ? 'Loading…' : 'The container is not running.'));
  body.append(h('h2', {}, 'Processes'), procs);
  if (c.State.Running) {
    try {
      const top = await get<{ Titles: string[]; Processes: string[][] }>(`/containers/${encodeURIComponent(c.Id)}/top`, signal);
      clear(procs);
      procs.appendChild(h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, top.Titles.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, top.Processes.map((p) => h('tr', {}, p.map((x) => h('td', {}, x))))))));
    } catch (e) {
      clear(procs);
      procs.appendChild(h('p', { class: 'error' }, (e as Error).message));
    }
  }
}

/** Logs: follow, timestamps, search (filters the lines shown), stdout/stderr colours, download as text. */
function logs(body: HTMLElement, c: Inspect, signal: AbortSignal): void {
  const follow = h('input', { type: 'checkbox', id: 'logs-follow', checked: true });
  const stamps = h('input', { type: 'checkbox', id: 'logs-timestamps' });
  const search = h('input', { type: 'search', id: 'logs-search', placeholder: 'filter lines', autocomplete: 'off' });
  const tail = h('select', { id: 'logs-tail' }, ['100', '500', '2000', 'all'].map((v) => h('option', { value: v, selected: v === '500' }, v)));
  const out = h('pre', { class: 'logs', id: 'logs-output', tabindex: '0', 'aria-label': 'Log output', 'aria-live': 'off' });
  const download = h('button', { type: 'button', id: 'logs-download' }, 'Download');
  body.append(
    h(
      'div',
      { class: 'toolbar' },
      h('span', { class: 'check' }, follow, h('label', { for: 'logs-follow' }, 'Follow')),
      h('span', { class: 'check' }, stamps, h('label', { for: 'logs-timestamps' }, 'Timestamps')),
      h('label', { for: 'logs-tail' }, 'Lines'),
      tail,
      h('label', { for: 'logs-search' }, 'Search'),
      search,
      download,
    ),
    h('p', { class: 'legend' }, h('span', { class: 'stdout' }, 'stdout'), ' ', h('span', { class: 'stderr' }, 'stderr')),
    out,
  );
  const lines: Array<{ stream: 'stdout' | 'stderr'; text: string }> = [];
  const partial = { stdout: '', stderr: '' };
  const MAX = 10000;
  const visible = (text: string) => !search.value || text.toLowerCase().includes(search.value.toLowerCase());
  const lineEl = (l: { stream: string; text: string }) => h('span', { class: `line ${l.stream}` }, l.text, '\n');
  const redraw = () => {
    clear(out);
    const frag = document.createDocumentFragment();
    for (const l of lines) if (visible(l.text)) frag.appendChild(lineEl(l));
    out.appendChild(frag);
    out.scrollTop = out.scrollHeight;
  };
  let ctl: AbortController | undefined;
  const start = () => {
    ctl?.abort();
    ctl = new AbortController();
    const mine = ctl;
    signal.addEventListener('abort', () => mine.abort(), { once: true });
    lines.length = 0;
    partial.stdout = partial.stderr = '';
    clear(out);
    const q = new URLSearchParams({ stdout: '1', stderr: '1', follow: follow.checked ? '1' : '0', timestamps: stamps.checked ? '1' : '0', tail: tail.value });
    logStream(`/containers/${encodeURIComponent(c.Id)}/logs?${q}`, (stream, text) => {
      const parts = (partial[stream] + text).split('\n');
      partial[stream] = parts.pop() ?? '';
      const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 40;
      for (const p of parts) {
        const l = { stream, text: p.replace(/\r$/, '') };
        lines.push(l);
        if (visible(l.text)) out.appendChild(lineEl(l));
      }
      while (lines.length > MAX) {
        lines.shift();
        out.firstChild?.remove();
      }
      if (atBottom) out.scrollTop = out.scrollHeight;
    }, mine.signal).catch((e: Error) => {
      if (!mine.signal.aborted) toast(`logs: ${e.message}`);
    });
  };
  follow.addEventListener('change', start);
  stamps.addEventListener('change', start);
  tail.addEventListener('change', start);
  search.addEventListener('input', redraw);
  download.addEventListener('click', () => {
    const blob = new Blob([lines.map((l) => `${l.text}\n`).join('')], { type: 'text/plain' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `${c.Name.replace(/^\//, '')}.log` });
    document.body.appendChild(a);
    a.click();
    setTimeout(() => (URL.revokeObjectURL(a.href), a.remove()), 1000);
  });
  start();
}

export { fmtBytes };
