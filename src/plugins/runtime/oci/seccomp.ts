/**
 * Seccomp profiles in moby's format (the format of Docker's default profile and of `--security-opt seccomp=<file>`)
 * and their conversion to the OCI `linux.seccomp` form.
 *
 * A moby profile differs from OCI in two ways: `archMap` lists each native architecture with its compatible
 * sub-architectures, and each rule carries *conditions* — `includes` (the rule applies only if every listed cap is in
 * the container's bounding set, the native arch is listed, and the kernel is at least `minKernel`) and `excludes`
 * (the rule is dropped if any listed cap is held, the arch is listed, or the kernel is at least `minKernel`).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidArgument } from '../../../errdefs/index.js';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall } from './types.js';

/** Conditions of a moby seccomp rule. `minKernel` is "major.minor". */
export interface SeccompFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

export interface SeccompRule {
  name?: string;
  names?: string[] | null;
  action: string;
  errnoRet?: number | null;
  args?: LinuxSeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
}

/** A seccomp profile in moby's JSON format. */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[] | null;
}

/** What a profile's conditions are evaluated against. */
export interface SeccompContext {
  /** The container's bounding set (CAP_ names). */
  caps: readonly string[];
  /** moby's native arch name (amd64, arm64, …), see host.ts nativeArch. */
  arch: string;
  kernel: { major: number; minor: number };
}

/** moby native arch name → libseccomp's name for the native arch. */
const SECCOMP_ARCH: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips3l64n32: 'SCMP_ARCH_MIPSEL64N32', mipsle: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

function parseMinKernel(v: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m || (m[1] === '0' && m[2] === '0')) {
    throw invalidArgument(`invalid kernel version: ${JSON.stringify(v)}, expected "<kernel>.<major>"`);
  }
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function kernelAtLeast(k: SeccompContext['kernel'], min: string): boolean {
  const want = parseMinKernel(min);
  return k.major > want.major || (k.major === want.major && k.minor >= want.minor);
}

/** Whether a rule applies to this container, by its includes/excludes. */
export function ruleApplies(rule: SeccompRule, ctx: SeccompContext): boolean {
  const ex = rule.excludes ?? {};
  const inc = rule.includes ?? {};
  const held = new Set(ctx.caps);
  if (ex.arches?.length && ex.arches.includes(ctx.arch)) return false;
  if (ex.caps?.length && ex.caps.some((c) => held.has(c))) return false;
  if (ex.minKernel && kernelAtLeast(ctx.kernel, ex.minKernel)) return false;
  if (inc.arches?.length && !inc.arches.includes(ctx.arch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => held.has(c))) return false;
  if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) return false;
  return true;
}

/**
 * Convert a moby-format profile to OCI form for one container. Returns undefined for an empty profile (no default
 * action and no rules), which Docker treats as "no seccomp".
 */
export function toOciSeccomp(profile: SeccompProfile, ctx: SeccompContext): LinuxSeccomp | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidArgument(
      "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }
  const out: LinuxSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet != null) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.architectures?.length) out.architectures = [...profile.architectures];
  const native = SECCOMP_ARCH[ctx.arch];
  const entry = profile.archMap?.find((a) => a.architecture === native);
  if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  const syscalls: LinuxSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (!ruleApplies(rule, ctx)) continue;
    if (rule.name && rule.names?.length) {
      throw invalidArgument("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
    }
    const call: LinuxSyscall = { names: rule.name ? [rule.name] : [...(rule.names ?? [])], action: rule.action };
    if (rule.errnoRet != null) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(call);
  }
  out.syscalls = syscalls;
  return out;
}

/** Parse a profile's JSON text (what the docker CLI sends as `seccomp=<json>`). */
export function parseSeccompProfile(text: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p)) {
    throw invalidArgument('Decoding seccomp profile failed: not a JSON object');
  }
  return p as SeccompProfile;
}

let cachedDefault: SeccompProfile | undefined;

/** Where data/seccomp-default.json lives: the first `data/` found walking up from this module (src/ or dist/src/). */
function defaultProfilePath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, 'data', 'seccomp-default.json');
    if (existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('data/seccomp-default.json not found (run scripts/gen-seccomp.mjs)');
    dir = up;
  }
}

/** Docker's default profile (moby format), read once from data/seccomp-default.json and cached. */
export function defaultSeccompProfile(): SeccompProfile {
  cachedDefault ??= parseSeccompProfile(readFileSync(defaultProfilePath(), 'utf8'));
  return cachedDefault;
}
