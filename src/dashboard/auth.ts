/**
 * Who may use the dashboard, and which requests may change something.
 *
 * Terms:
 * - *token*: 32 random bytes (hex) kept in `<data-root>/dashboard/token` (0600). Whoever knows it is as powerful as
 *   a user of the API socket (both are root on this machine). It travels once, in the URL `berth dashboard` prints.
 * - *session cookie*: HMAC(token, "session"), set HttpOnly + SameSite=Strict after the token was shown; derived, so it
 *   survives daemon restarts and dies when the token file is replaced.
 * - *CSRF token*: HMAC(token, "csrf"), embedded in the page and required in the `X-Berth-CSRF` header (or the
 *   `csrf` query parameter of a WebSocket) of every request that can change state. A page of another origin can make
 *   the browser send the cookie (ports do not separate cookies) but can never read this value.
 * - *same origin*: the request's Origin header (browsers always send it on POST/DELETE and WebSocket handshakes)
 *   names exactly this dashboard's scheme, host and port; and the Host header is one of ours, which also defeats
 *   DNS rebinding.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';

export const CSRF_HEADER = 'x-berth-csrf';

/** Loads the token from `<dataRoot>/dashboard/token`, creating it (0600, directory 0700) on first use. */
export function loadOrCreateToken(dataRoot: string): string {
  const dir = path.join(dataRoot, 'dashboard');
  const file = path.join(dir, 'token');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(t)) {
      fs.chmodSync(file, 0o600);
      return t;
    }
  } catch {
    /* first start: make one */
  }
  const token = crypto.randomBytes(32).toString('hex');
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return token;
}

function hmac(key: string, what: string): string {
  return crypto.createHmac('sha256', key).update(what).digest('hex');
}

/** Constant-time string comparison (length leaks, contents do not). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export type AuthResult = 'cookie' | 'token' | 'none';

export class DashboardAuth {
  readonly cookieName: string;
  private readonly session: string;
  readonly csrf: string;

  /** `origin` is this dashboard's own origin (`http://127.0.0.1:8080`); `hosts` the Host header values it answers to. */
  constructor(
    private readonly token: string,
    readonly origin: string,
    private readonly hosts: ReadonlySet<string>,
    private readonly secure: boolean,
  ) {
    // Cookies ignore ports: a name per port keeps two dashboards on one host apart.
    this.cookieName = `berth_dashboard_${new URL(origin).port || (secure ? 443 : 80)}`;
    this.session = hmac(token, 'session');
    this.csrf = hmac(token, 'csrf');
  }

  /** True when `candidate` is the token. */
  isToken(candidate: string | null | undefined): boolean {
    return typeof candidate === 'string' && safeEqual(candidate, this.token);
  }

  /** How the request proved it knows the token: the session cookie, an `Authorization: Bearer` header, or not at all. */
  authenticate(req: IncomingMessage): AuthResult {
    const cookie = parseCookies(req.headers.cookie)[this.cookieName];
    if (cookie && safeEqual(cookie, this.session)) return 'cookie';
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && this.isToken(auth.slice(7).trim())) return 'token';
    return 'none';
  }

  /** The Set-Cookie header value that logs a browser in. */
  sessionCookie(): string {
    return `${this.cookieName}=${this.session}; Path=/; HttpOnly; SameSite=Strict${this.secure ? '; Secure' : ''}`;
  }

  /** The Host header names one of this dashboard's addresses (not a rebound DNS name). */
  knownHost(req: IncomingMessage): boolean {
    return this.hosts.has((req.headers.host ?? '').toLowerCase());
  }

  /**
   * Whether a state-changing request may proceed: from our own origin, and carrying the CSRF token (header, or the
   * `csrf` query parameter for WebSocket handshakes, which cannot set headers). Returns the reason when refused.
   */
  checkStateChange(req: IncomingMessage, csrfFromQuery?: string | null): string | undefined {
    const origin = req.headers.origin;
    if (!origin || origin !== this.origin) return `cross-origin request refused (Origin: ${origin ?? 'none'})`;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return `cross-site request refused (Sec-Fetch-Site: ${site})`;
    const given = (req.headers[CSRF_HEADER] as string | undefined) ?? csrfFromQuery ?? '';
    if (!safeEqual(given, this.csrf)) return 'missing or wrong CSRF token';
    return undefined;
  }
}
