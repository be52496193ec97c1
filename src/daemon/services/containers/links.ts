/**
 * Legacy links (`--link name[:alias]`), as dockerd keeps them:
 *
 * - On the default bridge a link is the linking container's record of (target ID, alias) — `Berth.links`; inspect
 *   shows it as `HostConfig.Links` `/<target name>:/<own name>/<alias>` from the targets as they are now (renamed:
 *   the new name; removed: gone), as dockerd's link index does. At start each link to a running target adds a hosts
 *   line (`<ip> <alias> <short id> <name>`) and Docker's link environment (linkEnv).
 * - On a user-defined network links are aliases: they move to that endpoint's `EndpointSettings.Links` and the
 *   embedded DNS answers the alias with the target's address, for the linking container only.
 * - `DELETE /containers/<own name>/<alias>?link=true` drops one (dockerd's rmLink).
 */
import type { ContainerRecord } from '../../../core/containers/container.js';
import { EngineError, invalidArgument } from '../../../errdefs/index.js';

export interface LinkRecord {
  /** the target container's ID */
  id: string;
  alias: string;
}

/** `name[:alias]` → [name, alias]; dockerd's words (a 500) for more colons. */
export function parseLink(spec: string): [string, string] {
  const parts = spec.split(':');
  if (parts.length > 2 || !parts[0]) throw new EngineError('Internal', `bad format for links: ${spec}`);
  const name = parts[0].replace(/^\//, '');
  return [name, parts.length === 2 && parts[1] ? parts[1] : name];
}

/** Create-time: the targets by ID (a 400 for a missing one, as dockerd's registerLinks). */
export function resolveLinks(specs: string[], find: (ref: string) => ContainerRecord | undefined): LinkRecord[] {
  const out: LinkRecord[] = [];
  for (const spec of specs) {
    const [name, alias] = parseLink(spec);
    const target = find(name);
    if (!target) throw invalidArgument(`could not get container for ${name}: No such container: ${name}`);
    out.push({ id: target.Id, alias });
  }
  return out;
}

/** Inspect's HostConfig.Links: `/<target>:/<me>/<alias>` for each link whose target still exists; null when none. */
export function linkNames(rec: ContainerRecord, find: (id: string) => ContainerRecord | undefined): string[] | null {
  const out: string[] = [];
  for (const l of linksOf(rec)) {
    const t = find(l.id);
    if (t) out.push(`${t.Name}:${rec.Name}/${l.alias}`);
  }
  return out.length ? out : null;
}

export function linksOf(rec: ContainerRecord): LinkRecord[] {
  const l = (rec.Berth as { links?: LinkRecord[] }).links;
  return Array.isArray(l) ? l : [];
}

export function setLinks(rec: ContainerRecord, links: LinkRecord[]): void {
  const b = rec.Berth as { links?: LinkRecord[] };
  if (links.length) b.links = links;
  else delete b.links;
}

/** Exposed ports as dockerd's nat.Sort orders them for links: by number, then protocol. */
function sortedPorts(exposed: Record<string, unknown> | null | undefined): Array<{ port: number; proto: string }> {
  const ports = Object.keys(exposed ?? {}).map((k) => {
    const [p, proto] = k.split('/');
    return { port: Number(p), proto: (proto || 'tcp').toLowerCase() };
  });
  return ports.filter((p) => Number.isInteger(p.port) && p.port > 0).sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
}

/**
 * Docker's link environment for one link: `<ALIAS>_PORT` (the lowest port), per port `<ALIAS>_PORT_<p>_<PROTO>`
 * with `_ADDR`, `_PORT`, `_PROTO`; for a run of consecutive ports of one protocol also `_START`, `_END`,
 * `_PORT_START`, `_PORT_END` on its first port; `<ALIAS>_NAME=/<me>/<alias>`; `<ALIAS>_ENV_<var>` for the target's
 * env (HOME and PATH left out). ALIAS is the alias upper-cased with `-` as `_`.
 */
export function linkEnv(me: string, alias: string, ip: string, target: ContainerRecord): string[] {
  const A = alias.toUpperCase().replace(/-/g, '_');
  const env: string[] = [];
  const ports = sortedPorts(target.Config.ExposedPorts as Record<string, unknown> | undefined);
  if (ports.length) env.push(`${A}_PORT=${ports[0]!.proto}://${ip}:${ports[0]!.port}`);
  // runs of consecutive ports with one protocol
  for (let i = 0; i < ports.length; ) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1]!.proto === ports[i]!.proto && ports[j + 1]!.port === ports[j]!.port + 1) j++;
    if (j > i) {
      const first = ports[i]!;
      const last = ports[j]!;
      const P = `${A}_PORT_${first.port}_${first.proto.toUpperCase()}`;
      env.push(`${P}_START=${first.proto}://${ip}:${first.port}`, `${P}_PORT_START=${first.port}`, `${P}_END=${first.proto}://${ip}:${last.port}`, `${P}_PORT_END=${last.port}`);
    }
    i = j + 1;
  }
  for (const p of ports) {
    const P = `${A}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${P}=${p.proto}://${ip}:${p.port}`, `${P}_ADDR=${ip}`, `${P}_PORT=${p.port}`, `${P}_PROTO=${p.proto}`);
  }
  env.push(`${A}_NAME=${me}/${alias}`);
  for (const kv of target.Config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const k = kv.slice(0, eq);
    if (k === 'HOME' || k === 'PATH') continue;
    env.push(`${A}_ENV_${k}=${kv.slice(eq + 1)}`);
  }
  return env;
}

/** A link's /etc/hosts names: the alias, the target's short ID and its name (each once). */
export function linkHostNames(alias: string, target: ContainerRecord): string[] {
  return [...new Set([alias, target.Id.slice(0, 12), target.Name.replace(/^\//, '')])];
}

/** Network modes that are the default bridge (where links are links rather than aliases). */
export function onDefaultBridge(mode: string | undefined): boolean {
  return !mode || mode === 'default' || mode === 'bridge';
}
