/**
 * A small JWT token server for Distribution's token auth (the Docker Hub / Harbor flow), run by the tests on
 * 127.0.0.1. The registry trusts its certificate (`rootcertbundle`); tokens are ES256 JWTs with the certificate in
 * `x5c`, as Distribution verifies them.
 *
 * - `GET /token?service=&scope=…&account=` with optional Basic credentials; `offline_token=true` also returns a
 *   refresh token (what `docker login` turns into an identity token).
 * - `POST /token` (OAuth2 form): `grant_type=password` (username/password) or `grant_type=refresh_token`.
 * Access policy: anonymous users may pull `public/*`; each user may pull and push `<user>/*` and `public/*`.
 * `life` sets how long tokens really live and how long `expires_in` claims they do (so a test can make a token
 * expire while the client still trusts it). Every request is recorded in `log`.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export const SERVICE = 'berth-test-registry';
export const ISSUER = 'berth-test-issuer';
/** Distribution accepts tokens up to this long after `exp` (its clock-skew leeway). */
const LEEWAY_S = 60;

export interface TokenRequest {
  method: string;
  grant?: string;
  account?: string;
  scopes: string[];
  granted: string[];
  status: number;
}

export class TokenServer {
  readonly certFile: string;
  private readonly key: ReturnType<typeof createPrivateKey>;
  private readonly certDer: string;
  private server: http.Server | undefined;
  private readonly refreshTokens = new Map<string, string>();
  readonly log: TokenRequest[] = [];
  /** Seconds a token is valid for (`real`) and what `expires_in` says (`reported`). */
  life = { real: 300, reported: 300 };
  url = '';

  constructor(dir: string, private readonly users: Record<string, string>) {
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = path.join(dir, 'token.key');
    this.certFile = path.join(dir, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=berth-token-issuer', '-days', '2', '-keyout', keyFile, '-out', this.certFile], { stdio: 'ignore' });
    this.key = createPrivateKey(fs.readFileSync(keyFile));
    this.certDer = new X509Certificate(fs.readFileSync(this.certFile)).raw.toString('base64');
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** The `auth:` section of a Distribution config that trusts this server. */
  registryAuthConfig(): string {
    return `auth:\n  token:\n    realm: ${this.url}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${this.certFile}\n`;
  }

  private allowed(user: string | undefined, repo: string, action: string): boolean {
    if (repo.startsWith('public/')) return action === 'pull' || user !== undefined;
    return user !== undefined && repo.startsWith(`${user}/`);
  }

  private jwt(user: string | undefined, access: Array<{ type: string; name: string; actions: string[] }>): string {
    const now = Math.floor(Date.now() / 1000);
    // exp is in whole seconds: rounded up, so a token lives at least `life.real` seconds (rounded down it could live
    // a second less than its expires_in says, and a client renewing on time would still meet a 401)
    const exp = Math.ceil(Date.now() / 1000 + this.life.real) - LEEWAY_S;
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = b64({ typ: 'JWT', alg: 'ES256', x5c: [this.certDer] });
    const claims = b64({ iss: ISSUER, sub: user ?? '', aud: SERVICE, exp, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access });
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key: this.key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return `${header}.${claims}.${sig}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    let params = url.searchParams;
    if (req.method === 'POST') {
      let body = '';
      for await (const c of req) body += c;
      params = new URLSearchParams(body);
    }
    const entry: TokenRequest = { method: req.method ?? 'GET', grant: params.get('grant_type') ?? undefined, account: params.get('account') ?? params.get('username') ?? undefined, scopes: [], granted: [], status: 200 };
    this.log.push(entry);
    const deny = (status: number, msg: string) => {
      entry.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: msg }] }));
    };
    let user: string | undefined;
    let offline = false;
    if (req.method === 'POST') {
      const grant = params.get('grant_type');
      if (grant === 'password') {
        const u = params.get('username') ?? '';
        if (this.users[u] === undefined || this.users[u] !== params.get('password')) return deny(401, 'incorrect username or password');
        user = u;
        offline = params.get('access_type') === 'offline';
      } else if (grant === 'refresh_token') {
        user = this.refreshTokens.get(params.get('refresh_token') ?? '');
        if (!user) return deny(401, 'invalid refresh token');
        offline = true;
      } else return deny(400, `unsupported grant_type ${grant}`);
    } else {
      const h = req.headers.authorization;
      if (h?.startsWith('Basic ')) {
        const dec = Buffer.from(h.slice(6), 'base64').toString('utf8');
        const i = dec.indexOf(':');
        const u = dec.slice(0, i);
        if (this.users[u] === undefined || this.users[u] !== dec.slice(i + 1)) return deny(401, 'incorrect username or password');
        user = u;
      }
      offline = params.get('offline_token') === 'true';
    }
    const scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    entry.scopes = scopes;
    const access: Array<{ type: string; name: string; actions: string[] }> = [];
    for (const s of scopes) {
      const [type, name, actions] = s.split(':');
      if (type !== 'repository' || !name) continue;
      const ok = (actions ?? '').split(',').filter((a) => this.allowed(user, name, a));
      if (ok.length) access.push({ type, name, actions: ok });
      for (const a of ok) entry.granted.push(`${name}:${a}`);
    }
    const out: Record<string, unknown> = { token: this.jwt(user, access), expires_in: this.life.reported, issued_at: new Date().toISOString() };
    out.access_token = out.token;
    if (offline && user) {
      const rt = randomBytes(16).toString('hex');
      this.refreshTokens.set(rt, user);
      out.refresh_token = rt;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(out));
  }
}
