/**
 * A terminal into the container: xterm.js over the dashboard's WebSocket, which runs `docker exec -it` of a shell
 * (bash where there is one). Resizes follow the element's size; colours and full-screen programs such as `top`
 * work because the exec has a real TTY. Loaded on demand.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { csrfToken } from '../api.js';
import { h } from '../dom.js';

export async function terminalView(body: HTMLElement, id: string, running: boolean, signal: AbortSignal): Promise<void> {
  if (!running) {
    body.appendChild(h('p', {}, 'The container is not running: start it to open a terminal.'));
    return;
  }
  const state = h('span', { id: 'terminal-state', role: 'status' }, 'connecting…');
  const reconnect = h('button', { type: 'button', id: 'terminal-reconnect', hidden: true }, 'Reconnect');
  const box = h('div', { class: 'terminal', id: 'terminal', 'aria-label': 'Terminal' });
  body.append(h('div', { class: 'toolbar' }, h('span', {}, 'Shell: '), state, reconnect), box);
  const term = new Terminal({ cursorBlink: true, convertEol: false, fontFamily: 'DejaVu Sans Mono, monospace', fontSize: 14, scrollback: 5000, theme: { background: '#111418', foreground: '#e6e6e6' } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  (window as unknown as { berthTerminal: Terminal }).berthTerminal = term; // for the browser tests to read the screen
  let ws: WebSocket | undefined;
  const connect = () => {
    reconnect.hidden = true;
    state.textContent = 'connecting…';
    const q = new URLSearchParams({ csrf: csrfToken(), rows: String(term.rows), cols: String(term.cols) });
    const sock = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/terminal/${encodeURIComponent(id)}?${q}`);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    sock.onopen = () => {
      state.textContent = 'connected';
      term.focus();
    };
    sock.onmessage = (ev) => term.write(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
    sock.onclose = () => {
      state.textContent = 'disconnected';
      reconnect.hidden = false;
    };
  };
  const enc = new TextEncoder();
  term.onData((d) => ws?.readyState === WebSocket.OPEN && ws.send(enc.encode(d)));
  term.onBinary((d) => ws?.readyState === WebSocket.OPEN && ws.send(Uint8Array.from(d, (ch) => ch.charCodeAt(0))));
  term.onResize(({ rows, cols }) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'resize', rows, cols })));
  const ro = new ResizeObserver(() => fit.fit());
  ro.observe(box);
  reconnect.addEventListener('click', connect);
  signal.addEventListener('abort', () => {
    ro.disconnect();
    ws?.close();
    term.dispose();
  }, { once: true });
  connect();
}
