import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const schemaModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schema.js');

/** One fresh process validating a good and a bad file with the validator cache in `cache`. */
function validateInProcess(cache: string): string {
  const script = `const { validateCompose } = await import(${JSON.stringify(schemaModule)});
validateCompose({ services: { web: { image: 'busybox' } } }, 'good.yaml');
try { validateCompose({ services: { web: { image: 'busybox', bogus: 1 } } }, 'bad.yaml'); } catch (e) { console.log(e.message); }`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, XDG_CACHE_HOME: cache } }).toString().trim();
}

test('the compiled validator and its V8 code cache are reused across processes; a damaged code cache is replaced', () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-schema-'));
  try {
    const want = "validating bad.yaml: services.web additional properties 'bogus' not allowed";
    assert.equal(validateInProcess(cache), want); // compiles, writes the standalone code
    assert.equal(validateInProcess(cache), want); // evaluates it, writes the code cache
    const dir = path.join(cache, 'berth');
    const codeCache = fs.readdirSync(dir).find((f) => f.endsWith('.v8'));
    assert.ok(codeCache, fs.readdirSync(dir).join(' '));
    assert.equal(validateInProcess(cache), want); // uses both
    fs.writeFileSync(path.join(dir, codeCache), 'not a code cache', { mode: 0o600 });
    assert.equal(validateInProcess(cache), want); // rejected by V8, rewritten
    assert.notEqual(fs.readFileSync(path.join(dir, codeCache), 'utf8'), 'not a code cache');
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
});
