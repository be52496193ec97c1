/**
 * The page's access to the Engine API, through the dashboard's `/engine` proxy. State-changing calls carry the
 * CSRF token from the page's meta tag; errors keep the API's own message.
 */
const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';

export function csrfToken(): string {
  return csrf;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function init(method: string, body?: unknown, signal?: AbortSignal): RequestInit {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['X-Berth-CSRF'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal };
}

async function fail(res: Response): Promise<never> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const j = await res.json();
    if (j && typeof j.message === 'string') message = j.message;
  } catch {
    /* not JSON */
  }
  if (res.status === 401) location.reload();
  throw new ApiError(res.status, message);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/engine${path}`, init(method, body, signal));
  if (!res.ok) await fail(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T = unknown>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);

/** Reads a stream of JSON values separated by newlines (events, stats, pull progress) until it ends or is aborted. */
export async function jsonLines(method: string, path: string, onValue: (v: any) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/engine${path}`, init(method, undefined, signal));
  if (!res.ok) await fail(res);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onValue(JSON.parse(line));
      }
    }
    if (buf.trim()) onValue(JSON.parse(buf));
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
}

/**
 * Reads a container's logs: Docker's multiplexed frames (8-byte header: stream 1 stdout / 2 stderr, then the length)
 * or, for a TTY container, raw bytes (all stdout).
 */
export async function logStream(path: string, onText: (stream: 'stdout' | 'stderr', text: string) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/engine${path}`, init('GET', undefined, signal));
  if (!res.ok) await fail(res);
  const raw = (res.headers.get('content-type') ?? '').includes('raw-stream');
  const reader = res.body!.getReader();
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  let pending = new Uint8Array(0);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (raw) {
        onText('stdout', decoders.stdout.decode(value, { stream: true }));
        continue;
      }
      const joined = new Uint8Array(pending.length + value.length);
      joined.set(pending);
      joined.set(value, pending.length);
      let off = 0;
      while (joined.length - off >= 8) {
        const len = new DataView(joined.buffer, joined.byteOffset + off + 4, 4).getUint32(0);
        if (joined.length - off - 8 < len) break;
        const stream = joined[off] === 2 ? 'stderr' : 'stdout';
        onText(stream, decoders[stream].decode(joined.subarray(off + 8, off + 8 + len), { stream: true }));
        off += 8 + len;
      }
      pending = joined.slice(off);
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
}
