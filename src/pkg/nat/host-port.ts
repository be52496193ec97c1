/**
 * The host side of a port binding (`PortBindings[…][].HostPort`), read as dockerd reads it (go-connections'
 * ParsePortRange): `""` and `"0"` ask for an ephemeral port, `"8080"` for that port, `"8000-8010"` for any free port
 * in that range. Anything else is a 400 with dockerd's `invalid port specification: "…"`.
 */
import { invalidArgument } from '../../errdefs/index.js';

/** A host port range to choose from; `undefined` means any ephemeral port. */
export type HostPortRange = [from: number, to: number] | undefined;

export function parseHostPort(hostPort: string | undefined | null): HostPortRange {
  const hp = (hostPort ?? '').trim();
  if (hp === '') return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(hp);
  const from = Number(m?.[1]);
  const to = Number(m?.[2] ?? m?.[1]);
  if (!m || from > 65535 || to > 65535 || to < from) throw invalidArgument(`invalid port specification: "${hp}"`);
  // Port 0 is the kernel's "pick one": testcontainers sends "0" for every exposed port.
  if (to === 0) return undefined;
  return [Math.max(from, 1), to];
}
