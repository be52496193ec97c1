import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants as fsc, existsSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  MAX_SYMLINKS,
  openBeneath,
  openInRoot,
  resolveInRoot,
  resolveInRootSync,
  secureJoin,
  secureJoinSync,
  SymlinkLoopError,
} from './securejoin.js';
import { ScopedFS } from './scoped.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'berth-securejoin-'));
after(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh root beside a host directory `outside` holding a secret that must never be reached. */
function tree(): { root: string; outside: string } {
  const dir = path.join(base, String(n++));
  const root = path.join(dir, 'root');
  const outside = path.join(dir, 'outside');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(outside, 'etc'), { recursive: true });
  writeFileSync(path.join(root, 'etc/passwd'), 'inside\n');
  writeFileSync(path.join(outside, 'etc/passwd'), 'outside\n');
  return { root, outside };
}

const under = (root: string, p: string) => p === root || p.startsWith(`${root}/`);

/** Both drivers agree and the result never leaves root. */
async function join(root: string, p: string, opts: { followFinal?: boolean } = {}): Promise<string> {
  const a = await secureJoin(root, p, opts);
  assert.equal(secureJoinSync(root, p, opts), a);
  assert.ok(under(root, a), `${p} resolved to ${a}, outside ${root}`);
  return a;
}

test('.. is clamped at the root', async () => {
  const { root } = tree();
  assert.equal(await join(root, '/../../../etc/passwd'), path.join(root, 'etc/passwd'));
  assert.equal(await join(root, 'etc/../../../../etc'), path.join(root, 'etc'));
  assert.equal(await join(root, '..'), root);
  assert.equal(await join(root, ''), root);
  assert.equal(await join(root, '/./etc//./passwd'), path.join(root, 'etc/passwd'));
});

test('absolute symlinks are re-rooted', async () => {
  const { root, outside } = tree();
  symlinkSync('/etc', path.join(root, 'abs'));
  symlinkSync(path.join(outside, 'etc/passwd'), path.join(root, 'hostpath'));
  assert.equal(await join(root, '/abs/passwd'), path.join(root, 'etc/passwd'));
  // A host path as target means that path inside root (missing there: kept lexically).
  assert.equal(await join(root, '/hostpath'), path.join(root, outside, 'etc/passwd'));
  assert.equal((await resolveInRoot(root, '/hostpath')).missing, true);
});

test('relative symlinks cannot climb out', async () => {
  const { root } = tree();
  mkdirSync(path.join(root, 'a/b'), { recursive: true });
  symlinkSync('../../../../../../outside/etc/passwd', path.join(root, 'a/b/up'));
  symlinkSync('../etc', path.join(root, 'a/rel'));
  assert.equal(await join(root, '/a/b/up'), path.join(root, 'outside/etc/passwd'));
  assert.equal(await join(root, '/a/rel/passwd'), path.join(root, 'etc/passwd'));
  symlinkSync('../../etc', path.join(root, 'a/b/rel2'));
  assert.equal(await join(root, '/a/b/rel2/passwd'), path.join(root, 'etc/passwd'));
});

test('chains of symlinks, including through directories', async () => {
  const { root } = tree();
  symlinkSync('b', path.join(root, 'a'));
  symlinkSync('/c/../d', path.join(root, 'b'));
  symlinkSync('etc', path.join(root, 'd'));
  assert.equal(await join(root, '/a/passwd'), path.join(root, 'etc/passwd'));
  assert.equal(await join(root, '/a/passwd/../passwd'), path.join(root, 'etc/passwd'));
});

test('/proc/self/root-like targets stay inside', async () => {
  const { root } = tree();
  symlinkSync('/proc/self/root/etc/passwd', path.join(root, 'magic'));
  assert.equal(await join(root, '/magic'), path.join(root, 'proc/self/root/etc/passwd'));
  // Even when the rootfs ships its own proc/self/root symlink pointing at `/`: that `/` is root.
  mkdirSync(path.join(root, 'proc/self'), { recursive: true });
  symlinkSync('/', path.join(root, 'proc/self/root'));
  assert.equal(await join(root, '/magic'), path.join(root, 'etc/passwd'));
  symlinkSync('/proc/self/cwd/../../../..', path.join(root, 'cwd'));
  assert.equal(await join(root, '/cwd/etc'), path.join(root, 'etc'));
});

test('symlink loops give ELOOP after MAX_SYMLINKS hops', async () => {
  const { root } = tree();
  symlinkSync('self', path.join(root, 'self'));
  symlinkSync('/pong', path.join(root, 'ping'));
  symlinkSync('ping', path.join(root, 'pong'));
  for (const p of ['/self', '/ping/x', '/pong/../ping']) {
    await assert.rejects(secureJoin(root, p), (e: Error) => e instanceof SymlinkLoopError && (e as SymlinkLoopError).code === 'ELOOP');
    assert.throws(() => secureJoinSync(root, p), SymlinkLoopError);
  }
  // A chain of exactly 40 links resolves, as on Linux; 41 fails.
  mkdirSync(path.join(root, 'chain'));
  for (let i = 0; i < MAX_SYMLINKS + 1; i++) symlinkSync(i === 0 ? '/etc' : `l${i - 1}`, path.join(root, 'chain', `l${i}`));
  assert.equal(await join(root, `/chain/l${MAX_SYMLINKS - 1}/passwd`), path.join(root, 'etc/passwd'));
  await assert.rejects(secureJoin(root, `/chain/l${MAX_SYMLINKS}/passwd`), { code: 'ELOOP', at: `chain/l${MAX_SYMLINKS - 40}` });
  assert.equal(await secureJoin(root, `/chain/l${MAX_SYMLINKS}`, { maxSymlinks: 41 }), path.join(root, 'etc'));
  // A loop in the last component is not expanded when followFinal is off.
  assert.equal(await join(root, '/self', { followFinal: false }), path.join(root, 'self'));
});

test('a missing tail is kept lexically and cannot be used to climb out', async () => {
  const { root } = tree();
  assert.deepEqual(await resolveInRoot(root, '/new/dir/file'), { components: ['new', 'dir', 'file'], missing: true });
  assert.deepEqual(resolveInRootSync(root, '/etc/passwd'), { components: ['etc', 'passwd'], missing: false });
  // A missing directory followed by '..' is still clamped at the root.
  symlinkSync('/nonexistent/../../../../outside/etc/passwd', path.join(root, 'sneaky'));
  assert.equal(await join(root, '/sneaky'), path.join(root, 'outside/etc/passwd'));
  // A file used as a directory (ENOTDIR) counts as missing.
  assert.deepEqual(await resolveInRoot(root, '/etc/passwd/x'), { components: ['etc', 'passwd', 'x'], missing: true });
});

test('followFinal: false leaves the last component alone', async () => {
  const { root } = tree();
  symlinkSync('/etc/passwd', path.join(root, 'link'));
  mkdirSync(path.join(root, 'd'));
  symlinkSync('/etc', path.join(root, 'd/l'));
  assert.equal(await join(root, '/link', { followFinal: false }), path.join(root, 'link'));
  assert.equal(await join(root, '/link'), path.join(root, 'etc/passwd'));
  // Intermediate components are always followed.
  assert.equal(await join(root, '/d/l/passwd', { followFinal: false }), path.join(root, 'etc/passwd'));
  assert.equal(await join(root, '/d/l/..', { followFinal: false }), root);
});

test('openInRoot reads inside and refuses swapped symlinks (the race callers close with it)', async () => {
  const { root, outside } = tree();
  const read = async (p: string) => {
    const fh = await openInRoot(root, p, fsc.O_RDONLY);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  };
  symlinkSync(path.join(outside, 'etc/passwd'), path.join(root, 'evil'));
  assert.equal(await read('/etc/passwd'), 'inside\n');
  await assert.rejects(read('/evil'), { code: 'ENOENT' }); // re-rooted to a missing path

  // Race 1: the last component becomes a symlink after resolving: O_NOFOLLOW refuses it.
  const resolved = await secureJoin(root, '/etc/passwd');
  rmSync(resolved);
  symlinkSync(path.join(outside, 'etc/passwd'), resolved);
  await assert.rejects(openBeneath(root, resolved, fsc.O_RDONLY), { code: 'ELOOP' });

  // Race 2: an intermediate directory is swapped for a symlink to the host: the beneath check refuses it.
  rmSync(resolved);
  writeFileSync(resolved, 'inside\n');
  renameSync(path.join(root, 'etc'), path.join(root, 'etc.old'));
  symlinkSync(path.join(outside, 'etc'), path.join(root, 'etc'));
  await assert.rejects(openBeneath(root, resolved, fsc.O_RDONLY), { code: 'EXDEV' });
  // Resolving again sees the new symlink and re-roots it.
  assert.equal(await join(root, '/etc/passwd'), path.join(root, outside, 'etc/passwd'));
});

test('ScopedFS: mounts are grafted, symlinks in them resolve in the container scope, loops are invalid arguments', async () => {
  const { root, outside } = tree();
  const vol = path.join(outside, 'vol');
  mkdirSync(vol);
  symlinkSync('/etc', path.join(vol, 'etclink'));
  symlinkSync('../../..', path.join(vol, 'up'));
  writeFileSync(path.join(vol, 'passwd'), 'volume\n');
  symlinkSync('loop', path.join(root, 'loop'));
  const s = new ScopedFS(root, [{ dest: ['data'], source: vol, rw: true }]);
  assert.deepEqual(await s.resolve('/data/etclink/passwd', true), ['etc', 'passwd']);
  assert.deepEqual(await s.resolve('/data/up/etc', true), ['etc']);
  assert.equal(await s.readFile('/data/etclink/passwd'), 'inside\n');
  assert.equal(await s.readFile('/data/passwd'), 'volume\n');
  await assert.rejects(s.resolve('/loop', true), { message: 'too many links in /loop' });
});

/**
 * Differential test against the kernel: random trees of directories, files and symlinks (relative, absolute, `..`
 * heavy, loops), every path resolved by us and by the kernel inside chroot(2) (root only; python3 does the chroot).
 * Where the kernel finds a file we must name the same inode; where it says ELOOP we must too.
 */
test('agrees with the kernel under chroot on random trees', async (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => p === 'python3' || existsSync(p))!;
  if (process.getuid?.() !== 0) return t.skip('needs root for chroot');
  let seed = Number(process.env.SECUREJOIN_SEED ?? 1);
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const names = ['a', 'b', 'c', '..', '.', 'x'];
  const randPath = (len: number) => (rnd(2) ? '/' : '') + Array.from({ length: len }, () => names[rnd(names.length)]).join('/');
  const seen = { found: 0, loops: 0 };
  for (let round = 0; round < 20; round++) {
    const { root } = tree();
    symlinkSync('/x/..', path.join(root, 'x')); // a loop every tree has
    const dirs = [''];
    for (let i = 0; i < 6; i++) {
      const d = path.posix.join(dirs[rnd(dirs.length)]!, names[rnd(3)]!);
      if (!dirs.includes(d)) {
        mkdirSync(path.join(root, d), { recursive: true });
        dirs.push(d);
      }
    }
    for (let i = 0; i < 8; i++) {
      const at = path.join(root, dirs[rnd(dirs.length)]!, ['x', 'y', 'z', 'a', 'b'][rnd(5)]!);
      if (lstatSync(at, { throwIfNoEntry: false }) !== undefined) continue;
      if (rnd(4) === 0) writeFileSync(at, 'f');
      else {
        symlinkSync(rnd(3) === 0 ? '/proc/self/root' + randPath(1 + rnd(3)) : randPath(1 + rnd(4)), at);
      }
    }
    const paths = ['/x/a', ...Array.from({ length: 60 }, () => randPath(1 + rnd(5)))];
    const script = `import os,sys,json
ps=json.loads(sys.argv[2]); os.chroot(sys.argv[1]); os.chdir('/'); out=[]
for p in ps:
  try: out.append(['ino', os.stat(p).st_ino])
  except OSError as e: out.append(['err', e.errno])
print(json.dumps(out))`;
    const kernel = JSON.parse(execFileSync(python, ['-c', script, root, JSON.stringify(paths.map((p) => '/' + p))], { encoding: 'utf8' })) as Array<['ino' | 'err', number]>;
    for (const [i, p] of paths.entries()) {
      const [kind, k] = kernel[i]!;
      const ours = await secureJoin(root, p).then(
        (r) => r,
        (e: NodeJS.ErrnoException) => e.code ?? String(e),
      );
      if (ours !== 'ELOOP') assert.ok(under(root, ours), `${p} → ${ours}`);
      if (kind === 'err' && k === 40) {
        seen.loops++;
        assert.equal(ours, 'ELOOP', `kernel says ELOOP for ${p} (round ${round})`);
      } else if (kind === 'ino') {
        seen.found++;
        assert.equal(statSync(ours).ino, k, `${p} (round ${round}): ours ${ours}`);
      }
    }
  }
  // The trees are rich enough that both outcomes are actually compared.
  assert.ok(seen.found > 200 && seen.loops > 0, JSON.stringify(seen));
});
