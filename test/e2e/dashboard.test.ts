/**
 * The web dashboard (issue 18) in a real browser: Debian's chromium driven headless by playwright-core against a
 * real berthd started with --dashboard. Logs in with the token from `berth dashboard`, watches a container appear
 * from the events stream within 1 s of `docker run`, follows its logs, sees its memory graph move, runs `echo` and
 * `top` in the terminal, pulls an image with progress, stops and removes the container; checks 401 without the
 * token and the refusal of cross-origin requests. Writes a screenshot of each view to docs/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { importBusybox, repoRoot, sleep, startDaemon } from '../harness.js';
import { haveRegistry, TestRegistries } from '../registry.js';

type Daemon = Awaited<ReturnType<typeof startDaemon>>;
type PW = typeof import('playwright-core');
type Context = Awaited<ReturnType<PW['chromium']['launchPersistentContext']>>;
type Page = Awaited<ReturnType<Context['newPage']>>;

const CHROMIUM = '/usr/bin/chromium';
const shots = path.join(repoRoot, 'docs/screenshots');

describe('dashboard in a real browser', { skip: !fs.existsSync(CHROMIUM) && 'chromium is not installed (scripts/setup.sh installs it)' }, () => {
  let d: Daemon;
  let url = '';
  let origin = '';
  let ctx: Context;
  let page: Page;
  let profile = '';
  const name = `dash-web-${process.pid}`;
  const other = `dash-side-${process.pid}`;
  let registries: TestRegistries | undefined;
  let registryWork = '';

  const shot = async (view: string, p: Page = page) => {
    fs.mkdirSync(shots, { recursive: true });
    await p.screenshot({ path: path.join(shots, `${view}.png`) });
  };

  before(async () => {
    d = await startDaemon({ args: ['--dashboard', '127.0.0.1:0'] });
    await importBusybox(d, 'busybox');
    // `berth dashboard` prints the URL with the token (and starts nothing new: the daemon already serves one).
    const r = await d.berth(['dashboard', '--no-open']);
    assert.equal(r.code, 0, r.stderr);
    url = r.stdout.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    origin = new URL(url).origin;
    const { chromium } = (await import('playwright-core')) as PW;
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
  });

  after(async () => {
    await ctx?.close().catch(() => {});
    await registries?.stopAll();
    await d?.teardown();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    if (registryWork) fs.rmSync(registryWork, { recursive: true, force: true });
  });

  test('without the token: 401 for the page, the assets and the API; the token file is 0600', async () => {
    for (const p of ['/', '/assets/app.js', '/engine/containers/json', '/?token=' + '0'.repeat(64)]) {
      const res = await fetch(origin + p);
      assert.equal(res.status, 401, p);
    }
    const st = fs.statSync(path.join(d.dataRoot, 'dashboard/token'));
    assert.equal(st.mode & 0o777, 0o600);
    const token = new URL(url).searchParams.get('token')!;
    assert.equal(fs.readFileSync(path.join(d.dataRoot, 'dashboard/token'), 'utf8').trim(), token);
    // A bearer token works for scripts; a wrong Host header (DNS rebinding) does not.
    assert.equal((await fetch(`${origin}/engine/_ping`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const rebound = await new Promise<number>((resolve) => {
      http.get(`${origin}/engine/_ping`, { headers: { host: 'evil.example', authorization: `Bearer ${token}` } }, (res) => resolve(res.statusCode!)).on('error', () => resolve(0));
    });
    assert.equal(rebound, 403);
  });

  test('log in with the token: the cookie replaces it and the URL loses it', async () => {
    await page.goto(url);
    await page.waitForSelector('#container-list[aria-busy="false"]');
    assert.equal(new URL(page.url()).search, '');
    const cookies = await ctx.cookies(origin);
    const session = cookies.find((c) => c.name.startsWith('berth_dashboard_'));
    assert.ok(session?.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
  });

  test('a container started with docker run appears within 1 s, grouped by compose project', async () => {
    const loop = 'i=0; s=""; while true; do i=$((i+1)); echo "tick $i"; echo "warn $i" >&2; [ $i -le 80 ] && s="$s$(head -c 65536 /dev/zero | tr "\\0" x)"; sleep 0.2; done';
    const r = await d.docker(['run', '-d', '--stop-timeout', '1', '--name', name, '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', loop]);
    assert.equal(r.code, 0, r.stderr);
    const started = Date.now();
    await page.waitForSelector(`li[data-name="${name}"][data-state="running"]`, { timeout: 1000 });
    console.log(`# container visible ${Date.now() - started} ms after docker run returned`);
    const r2 = await d.docker(['run', '-d', '--stop-timeout', '1', '--name', other, '--label', 'com.docker.compose.project=shop', 'busybox', 'sleep', '300']);
    assert.equal(r2.code, 0, r2.stderr);
    await page.waitForSelector(`section[aria-label="Compose project shop"] li[data-name="${other}"]`, { timeout: 1000 });
    // search filters the list
    await page.fill('#container-search', 'shop');
    await page.waitForSelector(`li[data-name="${name}"]`, { state: 'detached' });
    await page.fill('#container-search', '');
    await page.waitForSelector(`li[data-name="${name}"]`);
    await shot('containers');
  });

  test('container page: summary, env, processes, port links', async () => {
    await page.click(`li[data-name="${name}"] a.name`);
    await page.waitForSelector('#processes table');
    const text = await page.textContent('main');
    assert.match(text!, /Commandsh -c i=0/);
    assert.match((await page.textContent('#processes'))!, /sleep 0\.2/);
    const portHref = await page.getAttribute('.ports a', 'href');
    assert.match(portHref!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await shot('container');
  });

  test('logs: follow, stdout/stderr colours, search, timestamps, download', async () => {
    await page.click('a[data-tab="logs"]');
    await page.waitForSelector('#logs-output .line.stdout');
    await page.waitForSelector('#logs-output .line.stderr');
    const count = await page.locator('#logs-output .line').count();
    // follow: more lines arrive without reloading
    await page.waitForFunction((n) => document.querySelectorAll('#logs-output .line').length > n + 2, count);
    const colours = await page.evaluate(() => [getComputedStyle(document.querySelector('#logs-output .stdout')!).color, getComputedStyle(document.querySelector('#logs-output .stderr')!).color]);
    assert.notEqual(colours[0], colours[1]);
    await page.fill('#logs-search', 'warn');
    const shown = await page.locator('#logs-output .line').allTextContents();
    assert.ok(shown.length > 0 && shown.every((l) => l.includes('warn')), shown.join('|'));
    await page.fill('#logs-search', '');
    await page.check('#logs-timestamps');
    await page.waitForFunction(() => /^\d{4}-\d\d-\d\dT/.test(document.querySelector('#logs-output .line')?.textContent ?? ''));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#logs-download')]);
    const file = await download.path();
    assert.match(fs.readFileSync(file!, 'utf8'), /tick \d+/);
    await shot('logs');
  });

  test('stats: the memory graph moves (live from the stats stream)', async () => {
    await page.click('a[data-tab="stats"]');
    await page.waitForSelector('#chart-memory canvas');
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 3; i++) {
      seen.add((await page.getAttribute('#chart-memory', 'data-last')) ?? '');
      await sleep(500);
    }
    seen.delete('');
    assert.ok(seen.size >= 2, `memory samples: ${[...seen].join(', ')}`);
    assert.ok(Number(await page.getAttribute('#chart-memory', 'data-samples')) >= 3);
    await page.waitForSelector('#chart-network canvas');
    await shot('stats');
  });

  test('terminal: echo, resize (stty size), top', async () => {
    await page.click('a[data-tab="terminal"]');
    await page.waitForFunction(() => document.getElementById('terminal-state')?.textContent === 'connected');
    const screen = () =>
      page.evaluate(() => {
        const t = (window as unknown as { berthTerminal: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } } }).berthTerminal;
        const b = t.buffer.active;
        const lines: string[] = [];
        for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
        return lines.join('\n');
      });
    const waitScreen = async (re: RegExp) => {
      for (let i = 0; i < 100; i++) {
        const s = await screen();
        if (re.test(s)) return s;
        await sleep(100);
      }
      throw new Error(`terminal never showed ${re}:\n${await screen()}`);
    };
    await waitScreen(/[#$] $/m);
    await page.click('#terminal');
    await page.keyboard.type('echo hello-$((6*7))\n');
    await waitScreen(/^hello-42$/m);
    const size = await page.evaluate(() => {
      const t = (window as unknown as { berthTerminal: { rows: number; cols: number } }).berthTerminal;
      return `${t.rows} ${t.cols}`;
    });
    await page.keyboard.type('stty size\n');
    await waitScreen(new RegExp(`^${size}$`, 'm'));
    await page.keyboard.type('top\n');
    await waitScreen(/PID\s+PPID\s+USER/);
    await shot('terminal');
    await page.keyboard.press('q');
    await waitScreen(/[#$] $/m);
  });

  test('a cross-origin POST is refused (from a page of another origin, and raw)', async () => {
    // Another origin on this machine: cookies ignore ports, so the browser does send the session cookie — the
    // Origin check and the CSRF token are what stop it.
    const evil = http.createServer((_req, res) => res.end('<!doctype html><title>other origin</title>'));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    const evilOrigin = `http://127.0.0.1:${(evil.address() as net.AddressInfo).port}`;
    try {
      const p2 = await ctx.newPage();
      await p2.goto(evilOrigin);
      await p2.evaluate(async ([o, n]) => {
        await fetch(`${o}/engine/containers/${n}/stop`, { method: 'POST', mode: 'no-cors', credentials: 'include' }).catch(() => {});
        const f = document.createElement('form');
        f.method = 'POST';
        f.action = `${o}/engine/containers/${n}/kill`;
        document.body.appendChild(f);
        f.submit();
      }, [origin, name]);
      await p2.waitForLoadState();
      await p2.close();
      await sleep(300);
      const state = await d.docker(['inspect', '-f', '{{.State.Status}}', name]);
      assert.equal(state.stdout.trim(), 'running');
      assert.match(d.log(), /dashboard: refused POST \/containers\/.*\/stop: cross-origin request refused/);
    } finally {
      evil.close();
    }
    const cookie = (await ctx.cookies(origin)).map((c) => `${c.name}=${c.value}`).join('; ');
    const post = (headers: Record<string, string>) => fetch(`${origin}/engine/containers/${name}/stop`, { method: 'POST', headers: { cookie, ...headers } });
    assert.equal((await post({ origin: 'http://evil.example' })).status, 403);
    assert.equal((await post({})).status, 403); // no Origin at all
    assert.equal((await post({ origin })).status, 403); // same origin but no CSRF token
    assert.equal((await post({ origin, 'x-berth-csrf': 'f'.repeat(64) })).status, 403);
    // The terminal's WebSocket from another origin is refused too.
    const ws = await new Promise<number>((resolve) => {
      const req = http.request(`${origin}/terminal/${name}`, { headers: { cookie, origin: 'http://evil.example', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => resolve(res.statusCode!));
      req.on('upgrade', () => resolve(101));
      req.on('error', () => resolve(0));
      req.end();
    });
    assert.equal(ws, 403);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', name])).stdout.trim(), 'running');
  });

  test('images (pull with progress, layers), volumes, networks and system views', async () => {
    if (haveRegistry) {
      registryWork = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dash-reg-'));
      registries = new TestRegistries(registryWork);
      const reg = await registries.start('dash');
      const ref = `${reg}/dash/busybox:v1`;
      assert.equal((await d.docker(['tag', 'busybox', ref])).code, 0);
      const push = await d.docker(['push', ref]);
      assert.equal(push.code, 0, push.stderr);
      assert.equal((await d.docker(['rmi', ref])).code, 0);
      await page.goto(`${origin}/#/images`);
      await page.fill('#pull-ref', ref);
      await page.click('form[aria-label="Pull an image"] button[type="submit"]');
      await page.waitForSelector(`li[data-image*="${ref}"]`, { timeout: 30_000 });
      assert.match((await page.textContent('#pull-progress'))!, /Status: |Digest|Pull complete|Already exists/);
    } else {
      await page.goto(`${origin}/#/images`);
    }
    await page.waitForSelector('li[data-image*="busybox"]');
    await page.click('li[data-image*="busybox:latest"] button[aria-expanded]');
    await page.waitForSelector('li[data-image*="busybox:latest"] ol.layers li');
    await shot('images');

    assert.equal((await d.docker(['volume', 'create', `dash-vol-${process.pid}`])).code, 0);
    await page.goto(`${origin}/#/volumes`);
    await page.waitForSelector(`li[data-volume="dash-vol-${process.pid}"]`);
    await shot('volumes');

    await page.goto(`${origin}/#/networks`);
    await page.waitForSelector('li[data-network="bridge"] .members a');
    assert.match((await page.textContent('li[data-network="bridge"]'))!, new RegExp(`${name} \\d+\\.\\d+\\.\\d+\\.\\d+`));
    await shot('networks');

    await page.goto(`${origin}/#/system`);
    await page.waitForSelector('#event-feed li');
    assert.match((await page.textContent('#event-feed'))!, /container start/);
    await shot('system');
  });

  test('phone width: no horizontal scrolling, every control labelled', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${origin}/#/containers`);
    await page.waitForSelector(`li[data-name="${name}"]`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, button, a[href]')]
        .filter((el) => !((el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.textContent?.trim()))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
    // keyboard: from a fresh load, Tab reaches the skip link first
    await page.reload();
    await page.waitForSelector(`li[data-name="${name}"]`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await shot('containers-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test('stop, then remove with confirmation, from the page — the same errors as the API', async () => {
    await page.goto(`${origin}/#/containers`);
    await page.click(`button[aria-label="Stop ${name}"]`);
    await page.waitForSelector(`li[data-name="${name}"][data-state="exited"]`, { timeout: 20_000 });
    await page.click(`button[aria-label="Remove ${name}"]`);
    await page.waitForSelector('dialog#confirm[open]');
    await page.click('#confirm-ok');
    await page.waitForSelector(`li[data-name="${name}"]`, { state: 'detached' });
    const ps = await d.docker(['ps', '-a', '--format', '{{.Names}}']);
    assert.ok(!ps.stdout.split('\n').includes(name));
    // An API error shows with the API's wording: pausing a stopped container.
    assert.equal((await d.docker(['stop', other])).code, 0);
    const res = await page.evaluate(async (n) => {
      const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content;
      const r = await fetch(`/engine/containers/${n}/pause`, { method: 'POST', headers: { 'X-Berth-CSRF': csrf } });
      return { status: r.status, body: await r.json() };
    }, other);
    const apiError = await d.client.request('POST', `/containers/${other}/pause`).then(() => undefined, (e: Error & { kind?: string }) => e);
    assert.equal(res.status, 409);
    assert.equal(res.body.message, apiError?.message);
    // Prune from the page removes the stopped one.
    await page.waitForSelector(`li[data-name="${other}"][data-state="exited"]`);
    await page.click('button:has-text("Prune stopped")');
    await page.click('#confirm-ok');
    await page.waitForSelector(`li[data-name="${other}"]`, { state: 'detached' });
    assert.equal((await d.docker(['ps', '-a', '-q', '--filter', `name=${other}`])).stdout.trim(), '');
  });
});
