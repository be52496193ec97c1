/**
 * Platforms as Docker reads and matches them (containerd's `platforms` package, which dockerd uses): parsing a
 * `--platform` specifier with its normalisation (`x86_64` → amd64, `aarch64` → arm64, `armhf` → arm/v7, arm64's
 * default variant v8, arm's v7), and choosing one manifest from a manifest list / OCI index. Pure logic, shared by
 * pull and load.
 */
import { MediaTypes } from '../images/types.js';
import { invalidArgument, notFound } from '../../errdefs/index.js';
import { HOST_ARCH } from '../images/platform.js';
import type { Descriptor, FetchedManifest, Manifest } from './types.js';

export function isIndex(m: FetchedManifest): boolean {
  return m.mediaType === MediaTypes.ociIndex || m.mediaType === MediaTypes.dockerManifestList || Array.isArray(m.manifest.manifests);
}

export interface Platform {
  os: string;
  arch: string;
  variant?: string;
}

const KNOWN_OS = new Set('aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris windows zos'.split(' '));
const KNOWN_ARCH = new Set(
  '386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm'.split(' '),
);
const COMPONENT = /^[A-Za-z0-9_-]+$/;

function normalizeOS(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

/** containerd's normalizeArch: canonical architecture and variant names. */
export function normalizeArch(arch: string, variant = ''): { arch: string; variant: string } {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      a = '386';
      v = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      a = 'amd64';
      if (v === 'v1') v = '';
      break;
    case 'aarch64':
    case 'arm64':
      a = 'arm64';
      if (v === '8' || v === 'v8' || v === 'v8.0') v = '';
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9';
      break;
    case 'armhf':
      a = 'arm';
      v = 'v7';
      break;
    case 'armel':
      a = 'arm';
      v = 'v6';
      break;
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return { arch: a, variant: v };
}

/**
 * Parses `os[/arch[/variant]]` as dockerd does (400 in containerd's wording for what it refuses): one component is an
 * OS (with this host's architecture) or an architecture (linux); two or three are taken as given, normalised.
 */
export function parsePlatform(specifier: string): Platform {
  if (specifier.includes('*')) throw invalidArgument(`"${specifier}": wildcards not yet supported: invalid argument`);
  const parts = specifier.split('/');
  for (const p of parts) {
    if (!COMPONENT.test(p)) throw invalidArgument(`"${p}" is an invalid component of "${specifier}": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument`);
  }
  const out = (os: string, arch: string, variant: string): Platform => (variant ? { os, arch, variant } : { os, arch });
  if (parts.length === 1) {
    const os = normalizeOS(parts[0]!);
    if (KNOWN_OS.has(os)) return out(os, HOST_ARCH, '');
    const a = normalizeArch(parts[0]!);
    if (a.arch === 'arm' && a.variant === 'v7') a.variant = '';
    if (KNOWN_ARCH.has(a.arch)) return out('linux', a.arch, a.variant);
    throw invalidArgument(`"${specifier}": unknown operating system or architecture: invalid argument`);
  }
  if (parts.length === 2) {
    const a = normalizeArch(parts[1]!);
    if (a.arch === 'arm' && a.variant === 'v7') a.variant = '';
    return out(normalizeOS(parts[0]!), a.arch, a.variant);
  }
  if (parts.length === 3) {
    const a = normalizeArch(parts[1]!, parts[2]!);
    if (a.arch === 'arm64' && a.variant === '') a.variant = 'v8';
    return out(normalizeOS(parts[0]!), a.arch, a.variant);
  }
  throw invalidArgument(`"${specifier}": cannot parse platform specifier: invalid argument`);
}

/** containerd's `platforms.Format`: `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.arch, p.variant].filter(Boolean).join('/');
}

/**
 * How well an entry's platform serves the asked one (containerd's `platforms.Only`): 0 = not at all, higher = better.
 * Variants are compared after normalisation; arm/vN also runs vN-1…v5, amd64/vN runs vN-1…v1 (the exact one wins).
 */
function score(want: Platform, have: { os?: string; architecture?: string; variant?: string } | undefined): number {
  if (!have?.os || !have.architecture) return 0;
  if (normalizeOS(have.os) !== want.os) return 0;
  const w = normalizeArch(want.arch, want.variant ?? '');
  const h = normalizeArch(have.architecture, have.variant ?? '');
  if (w.arch !== h.arch) return 0;
  if (w.variant === h.variant) return 100;
  const level = (v: string) => Number(/^v(\d+)/.exec(v)?.[1] ?? (v === '' ? (w.arch === 'amd64' ? 1 : 0) : NaN));
  if (w.arch === 'arm' || w.arch === 'amd64') {
    const wl = level(w.variant);
    const hl = level(h.variant);
    if (Number.isFinite(wl) && Number.isFinite(hl) && hl < wl && hl >= (w.arch === 'arm' ? 5 : 1)) return hl;
  }
  return 0;
}

/** Picks the manifest for a platform from an index; NotFound in dockerd's wording when none matches. */
export function pickPlatform(index: Manifest, os: string, arch: string, variant?: string): Descriptor {
  const want: Platform = { os: normalizeOS(os), arch, variant };
  let best: Descriptor | undefined;
  let bestScore = 0;
  // attestation manifests (unknown/unknown) never match; the first entry of the best score wins, as containerd's sort
  for (const m of index.manifests ?? []) {
    const s = score(want, m.platform);
    if (s > bestScore) {
      best = m;
      bestScore = s;
    }
  }
  if (best) return best;
  throw notFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
}

/** Whether an image config's platform is what `want` asks (for dockerd's warning on single-arch images). */
export function configMatches(want: Platform, cfg: { os?: string; architecture?: string; variant?: string }): boolean {
  return score(want, cfg) > 0;
}
