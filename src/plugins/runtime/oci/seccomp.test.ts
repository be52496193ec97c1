import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CAPABILITIES } from './capabilities.js';
import { defaultSeccompProfile, parseSeccompProfile, ruleApplies, toOciSeccomp } from './seccomp.js';

const amd64 = { caps: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: { major: 6, minor: 1 } };
const names = (s: ReturnType<typeof toOciSeccomp>) => s!.syscalls!.flatMap((r) => r.names);

test('the bundled profile is Docker\'s, with its notice', () => {
  const p = defaultSeccompProfile() as unknown as Record<string, unknown>;
  assert.match(String(p.NOTICE), /Apache License 2\.0/);
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
});

test('default profile on amd64: architectures from archMap, x86-only rules kept, others dropped', () => {
  const s = toOciSeccomp(defaultSeccompProfile(), amd64)!;
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const n = names(s);
  assert.ok(n.includes('read') && n.includes('execve'));
  assert.ok(n.includes('arch_prctl')); // includes.arches amd64
  assert.ok(!n.includes('s390_runtime_instr'));
  assert.ok(!n.includes('mount')); // needs CAP_SYS_ADMIN
  for (const r of s.syscalls!) assert.ok(!('includes' in r) && !('excludes' in r) && !('comment' in r));
});

test('clone gets its namespace-flag mask unless CAP_SYS_ADMIN', () => {
  const s = toOciSeccomp(defaultSeccompProfile(), amd64)!;
  const clone = s.syscalls!.filter((r) => r.names.includes('clone'));
  assert.equal(clone.length, 1);
  assert.deepEqual(clone[0]!.args, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]);
  const admin = toOciSeccomp(defaultSeccompProfile(), { ...amd64, caps: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] })!;
  const adminClone = admin.syscalls!.filter((r) => r.names.includes('clone'));
  assert.equal(adminClone.length, 1);
  assert.equal(adminClone[0]!.args, undefined); // unconditional allow
  assert.ok(names(admin).includes('mount'));
  // clone3 answers ENOSYS for the unprivileged so glibc falls back to clone
  const clone3 = s.syscalls!.find((r) => r.names.includes('clone3'))!;
  assert.equal(clone3.action, 'SCMP_ACT_ERRNO');
  assert.equal(clone3.errnoRet, 38);
});

test('ptrace: allowed from kernel 4.8, before that only with CAP_SYS_PTRACE', () => {
  assert.ok(names(toOciSeccomp(defaultSeccompProfile(), amd64)).includes('ptrace'));
  const old = { ...amd64, kernel: { major: 4, minor: 4 } };
  assert.ok(!names(toOciSeccomp(defaultSeccompProfile(), old)).includes('ptrace'));
  const traced = toOciSeccomp(defaultSeccompProfile(), { ...old, caps: [...DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE'] });
  assert.ok(names(traced).includes('ptrace'));
});

test('rule conditions', () => {
  const ctx = amd64;
  assert.equal(ruleApplies({ action: 'A', includes: { minKernel: '6.2' } }, ctx), false);
  assert.equal(ruleApplies({ action: 'A', includes: { minKernel: '6.1' } }, ctx), true);
  assert.equal(ruleApplies({ action: 'A', excludes: { minKernel: '5.0' } }, ctx), false);
  assert.equal(ruleApplies({ action: 'A', includes: { caps: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] } }, ctx), false);
  assert.equal(ruleApplies({ action: 'A', excludes: { caps: ['CAP_CHOWN'] } }, ctx), false);
  assert.equal(ruleApplies({ action: 'A', excludes: { arches: ['arm64'] } }, ctx), true);
  assert.throws(() => ruleApplies({ action: 'A', includes: { minKernel: '6' } }, ctx), { kind: 'InvalidArgument' });
});

test('custom profiles: name → names, architectures kept, errors', () => {
  const p = parseSeccompProfile(JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ name: 'chmod', action: 'SCMP_ACT_ERRNO', args: null }],
  }));
  assert.deepEqual(toOciSeccomp(p, amd64), {
    defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO' }],
  });
  assert.equal(toOciSeccomp({ defaultAction: '', syscalls: [] }, amd64), undefined);
  assert.throws(() => parseSeccompProfile('{nope'), /Decoding seccomp profile failed/);
  assert.throws(
    () => toOciSeccomp({ defaultAction: 'X', architectures: ['a'], archMap: [{ architecture: 'a' }] }, amd64),
    /use either 'architectures' or 'archMap'/,
  );
  assert.throws(
    () => toOciSeccomp({ defaultAction: 'X', syscalls: [{ name: 'a', names: ['b'], action: 'Y' }] }, amd64),
    /use either 'name' or 'names'/,
  );
});
