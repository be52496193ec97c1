/** The client-side build context: .dockerignore (and <Dockerfile>.dockerignore) applied while streaming the tar. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readAll } from '../../../client/client.js';
import { directoryContext, looksLikeArchive } from './context.js';
import { parseOutput, readSecret } from './build.js';

async function names(dir: string, dockerfile?: string): Promise<{ names: string[]; dockerfile: string }> {
  const src = directoryContext(dir, dockerfile);
  const tar = await readAll(src.stream);
  const r = spawnSync('tar', ['-tf', '-'], { input: tar });
  assert.equal(r.status, 0, r.stderr.toString());
  return { names: r.stdout.toString().split('\n').filter(Boolean).sort(), dockerfile: src.dockerfile };
}

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ctx-'));
  for (const [f, b] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), b);
  }
  return dir;
}

test('.dockerignore: files, directories, ** and ! exceptions; the Dockerfile and the ignore file are always sent', async () => {
  const dir = tree({
    Dockerfile: 'FROM x\n',
    '.dockerignore': 'Dockerfile\n*.log\nnode_modules\n**/tmp\nkeep/*\n!keep/this.txt\n',
    'a.txt': 'a',
    'b.log': 'b',
    'node_modules/m/index.js': 'm',
    'src/tmp/x': 'x',
    'src/main.ts': 'm',
    'keep/this.txt': 't',
    'keep/that.txt': 't',
  });
  try {
    const { names: n } = await names(dir);
    assert.deepEqual(n, ['.dockerignore', 'Dockerfile', 'a.txt', 'keep/', 'keep/this.txt', 'src/', 'src/main.ts']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('<Dockerfile>.dockerignore wins over .dockerignore; a Dockerfile outside the context gets a private name', async () => {
  const dir = tree({ 'build/App.Dockerfile': 'FROM x\n', 'build/App.Dockerfile.dockerignore': 'secret\n', '.dockerignore': 'a.txt\n', 'a.txt': 'a', secret: 's' });
  const outside = path.join(os.tmpdir(), `berth-df-${process.pid}`);
  fs.writeFileSync(outside, 'FROM y\n');
  try {
    const r = await names(dir, path.join(dir, 'build/App.Dockerfile'));
    assert.equal(r.dockerfile, 'build/App.Dockerfile');
    assert.ok(r.names.includes('a.txt') && !r.names.includes('secret'), r.names.join(','));
    const o = await names(dir, outside);
    assert.match(o.dockerfile, /^\.dockerfile\.[0-9a-f]{20}$/);
    assert.ok(o.names.includes(o.dockerfile));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { force: true });
  }
});

test('archive sniffing, -o specs, --secret specs', () => {
  assert.equal(looksLikeArchive(Buffer.from([0x1f, 0x8b, 8, 0])), true);
  assert.equal(looksLikeArchive(Buffer.from('FROM busybox\n')), false);
  assert.deepEqual(parseOutput('type=local,dest=out'), { type: 'local', dest: 'out' });
  assert.deepEqual(parseOutput('type=tar,dest=a.tar'), { type: 'tar', dest: 'a.tar' });
  assert.deepEqual(parseOutput('outdir'), { type: 'local', dest: 'outdir' });
  assert.deepEqual(parseOutput('-'), { type: 'tar', dest: '-' });
  assert.throws(() => parseOutput('type=registry,name=x'), /not supported/);
  assert.throws(() => parseOutput('type=local'), /dest is required/);
  assert.deepEqual(readSecret('id=a,env=SECRET_A', { SECRET_A: 'v' }), ['a', Buffer.from('v')]);
  assert.deepEqual(readSecret('id=B', { B: 'w' }), ['B', Buffer.from('w')]);
  assert.throws(() => readSecret('src=/x'), /id is required/);
});
