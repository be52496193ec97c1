/** System: daemon info, disk usage, and a live feed of every event. */
import { get, jsonLines } from '../api.js';
import { fmtBytes, h, toast } from '../dom.js';

export async function systemView(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const feed = h('ol', { class: 'events', id: 'event-feed', 'aria-live': 'polite', reversed: true });
  const [info, df] = await Promise.all([
    get<Record<string, any>>('/info', signal),
    get<{ LayersSize: number; Images: Array<{ Size: number }> | null; Containers: Array<{ SizeRw?: number }> | null; Volumes: Array<{ UsageData?: { Size: number } }> | null; BuildCache: Array<{ Size: number }> | null }>('/system/df', signal),
  ]);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + Math.max(0, b || 0), 0);
  const pairs: Array<[string, unknown]> = [
    ['Name', info.Name],
    ['Server version', info.ServerVersion],
    ['Operating system', info.OperatingSystem],
    ['Kernel', info.KernelVersion],
    ['CPUs', info.NCPU],
    ['Memory', fmtBytes(info.MemTotal)],
    ['Storage driver', info.Driver],
    ['Logging driver', info.LoggingDriver],
    ['Cgroup', `${info.CgroupDriver ?? ''} v${info.CgroupVersion ?? ''}`],
    ['Containers', `${info.Containers} (${info.ContainersRunning} running, ${info.ContainersPaused} paused, ${info.ContainersStopped} stopped)`],
    ['Images', info.Images],
    ['Data root', info.DockerRootDir],
  ];
  root.append(
    h('h1', {}, 'System'),
    h('h2', {}, 'Daemon'),
    h('dl', { class: 'kv' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '—'))])),
    h('h2', {}, 'Disk usage'),
    h(
      'dl',
      { class: 'kv', id: 'disk-usage' },
      h('dt', {}, 'Images'), h('dd', {}, `${df.Images?.length ?? 0} · ${fmtBytes(df.LayersSize)}`),
      h('dt', {}, 'Containers'), h('dd', {}, `${df.Containers?.length ?? 0} · ${fmtBytes(sum((df.Containers ?? []).map((c) => c.SizeRw ?? 0)))}`),
      h('dt', {}, 'Volumes'), h('dd', {}, `${df.Volumes?.length ?? 0} · ${fmtBytes(sum((df.Volumes ?? []).map((v) => v.UsageData?.Size ?? 0)))}`),
      h('dt', {}, 'Build cache'), h('dd', {}, `${df.BuildCache?.length ?? 0} · ${fmtBytes(sum((df.BuildCache ?? []).map((b) => b.Size)))}`),
    ),
    h('h2', {}, 'Events'),
    feed,
  );
  const since = Math.floor(Date.now() / 1000) - 600;
  jsonLines('GET', `/events?since=${since}`, (e: { Type: string; Action: string; Actor?: { ID: string; Attributes?: Record<string, string> }; time: number }) => {
    const name = e.Actor?.Attributes?.name ?? e.Actor?.ID?.slice(0, 12) ?? '';
    feed.prepend(h('li', { class: `ev ev-${e.Type}` }, h('time', { datetime: new Date(e.time * 1000).toISOString() }, new Date(e.time * 1000).toLocaleTimeString()), ' ', h('strong', {}, e.Type), ` ${e.Action} `, name));
    while (feed.children.length > 200) feed.lastElementChild?.remove();
  }, signal).catch((err: Error) => {
    if (!signal.aborted) toast(`events: ${err.message}`);
  });
}
