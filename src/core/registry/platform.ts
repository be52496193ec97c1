/** Choosing one manifest from a manifest list / OCI index (pure logic, shared by pull and load). */
import { MediaTypes } from '../images/types.js';
import { notFound } from '../../errdefs/index.js';
import type { Descriptor, FetchedManifest, Manifest } from './types.js';

export function isIndex(m: FetchedManifest): boolean {
  return m.mediaType === MediaTypes.ociIndex || m.mediaType === MediaTypes.dockerManifestList || Array.isArray(m.manifest.manifests);
}

/** Parses `os/arch[/variant]` (docker's `--platform`); InvalidArgument-free: unknown parts stay as given. */
export function parsePlatform(p: string): { os: string; arch: string; variant?: string } {
  const [os, arch, variant] = p.toLowerCase().split('/');
  return { os: os || 'linux', arch: arch ?? '', variant: variant || undefined };
}

/** Picks the manifest for `os/arch[/variant]` from an index; NotFound in Docker's wording when none matches. */
export function pickPlatform(index: Manifest, os: string, arch: string, variant?: string): Descriptor {
  const ms = index.manifests ?? [];
  const match = ms.filter((m) => m.platform?.os === os && m.platform?.architecture === arch && (!variant || !m.platform.variant || m.platform.variant === variant));
  // attestation manifests (unknown/unknown) never match; an exact variant wins over one that names none
  const exact = variant ? match.find((m) => m.platform?.variant === variant) : undefined;
  if (exact) return exact;
  if (match.length) return match[0]!;
  throw notFound(`no matching manifest for ${os}/${arch}${variant ? '/' + variant : ''} in the manifest list entries`);
}
