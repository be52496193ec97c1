/**
 * Live resource graphs from the stats stream (one sample a second, the last 5 minutes): CPU % computed as docker
 * does, memory used (usage minus page cache), network and block I/O as rates. Loaded on demand with uPlot.
 */
import uPlot from 'uplot';
import { jsonLines } from '../api.js';
import { fmtBytes, fmtMiB, h, toast } from '../dom.js';

const WINDOW = 300;

interface Sample {
  read: string;
  cpu_stats: { cpu_usage: { total_usage: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
}

export function cpuPercent(s: Sample): number {
  const cpu = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const sys = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const n = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 1;
  return sys > 0 && cpu > 0 ? (cpu / sys) * n * 100 : 0;
}

export function memoryUsed(s: Sample): number {
  const st = s.memory_stats.stats ?? {};
  const cache = st.inactive_file ?? st.total_inactive_file ?? st.cache ?? 0;
  return Math.max(0, (s.memory_stats.usage ?? 0) - cache);
}

interface Chart {
  fig: HTMLElement;
  plot: uPlot | undefined;
  data: number[][];
  now: HTMLElement;
  fmt: (v: number) => string;
  labels: string[];
}

function chart(parent: HTMLElement, id: string, title: string, labels: string[], fmt: (v: number) => string): Chart {
  const now = h('span', { class: 'now', id: `${id}-now` }, '—');
  const fig = h('figure', { class: 'chart', id, 'data-samples': '0', 'aria-labelledby': `${id}-cap` }, h('figcaption', { id: `${id}-cap` }, title, ': ', now));
  parent.appendChild(fig);
  return { fig, plot: undefined, data: [[], ...labels.map(() => [])], now, fmt, labels };
}

const colours = ['#0b57d0', '#b3261e'];

function draw(c: Chart): void {
  const width = Math.max(240, c.fig.clientWidth - 8);
  if (!c.plot) {
    c.plot = new uPlot(
      {
        width,
        height: 160,
        legend: { show: c.labels.length > 1 },
        scales: { x: { time: true } },
        axes: [{ stroke: '#333' }, { stroke: '#333', size: 70, values: (_u, vals) => vals.map((v) => c.fmt(v)) }],
        series: [{}, ...c.labels.map((label, i) => ({ label, stroke: colours[i], width: 2, fill: i === 0 ? 'rgba(11,87,208,0.08)' : undefined, value: (_u: uPlot, v: number | null) => (v === null ? '—' : c.fmt(v)) }))],
      },
      c.data as uPlot.AlignedData,
      c.fig,
    );
  } else {
    if (Math.abs(c.plot.width - width) > 4) c.plot.setSize({ width, height: 160 });
    c.plot.setData(c.data as uPlot.AlignedData);
  }
}

export async function statsView(body: HTMLElement, id: string, signal: AbortSignal): Promise<void> {
  const grid = h('div', { class: 'charts' });
  body.appendChild(grid);
  const cpu = chart(grid, 'chart-cpu', 'CPU', ['CPU %'], (v) => `${v.toFixed(1)} %`);
  const mem = chart(grid, 'chart-memory', 'Memory', ['used'], (v) => fmtMiB(v));
  const net = chart(grid, 'chart-network', 'Network', ['rx/s', 'tx/s'], (v) => `${fmtBytes(v)}/s`);
  const blk = chart(grid, 'chart-blkio', 'Block I/O', ['read/s', 'write/s'], (v) => `${fmtBytes(v)}/s`);
  let prev: { t: number; rx: number; tx: number; r: number; w: number } | undefined;
  const push = (c: Chart, t: number, values: number[]) => {
    c.data[0].push(t);
    values.forEach((v, i) => c.data[i + 1].push(v));
    if (c.data[0].length > WINDOW) for (const s of c.data) s.shift();
    c.fig.dataset.samples = String(c.data[0].length);
    c.fig.dataset.last = String(values[0]);
    c.now.textContent = values.map((v) => c.fmt(v)).join(' / ');
    draw(c);
  };
  const onResize = () => [cpu, mem, net, blk].forEach((c) => c.plot && draw(c));
  window.addEventListener('resize', onResize);
  signal.addEventListener('abort', () => window.removeEventListener('resize', onResize), { once: true });
  await jsonLines('GET', `/containers/${encodeURIComponent(id)}/stats?stream=1`, (s: Sample) => {
    const t = Date.parse(s.read) / 1000 || Date.now() / 1000;
    let rx = 0, tx = 0, r = 0, w = 0;
    for (const n of Object.values(s.networks ?? {})) {
      rx += n.rx_bytes;
      tx += n.tx_bytes;
    }
    for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
      if (/^read$/i.test(e.op)) r += e.value;
      if (/^write$/i.test(e.op)) w += e.value;
    }
    push(cpu, t, [cpuPercent(s)]);
    push(mem, t, [memoryUsed(s)]);
    if (prev && t > prev.t) {
      const dt = t - prev.t;
      push(net, t, [Math.max(0, (rx - prev.rx) / dt), Math.max(0, (tx - prev.tx) / dt)]);
      push(blk, t, [Math.max(0, (r - prev.r) / dt), Math.max(0, (w - prev.w) / dt)]);
    }
    prev = { t, rx, tx, r, w };
  }, signal).catch((e: Error) => {
    if (!signal.aborted) toast(`stats: ${e.message}`);
  });
}
