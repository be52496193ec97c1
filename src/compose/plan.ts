/**
 * Desired state (the project's services and their replica counts) against actual state (the project's containers,
 * found by their labels) → what to do per container. Pure: the caller fetches containers and image IDs, and
 * carries the actions out.
 *
 * A container matches its service when its `com.docker.compose.config-hash` equals the service's hash and its
 * `com.docker.compose.image` equals the image ID the service resolves to now; otherwise it is recreated (unless
 * --no-recreate). Replicas are numbered 1..n by `com.docker.compose.container-number`; extra ones are removed,
 * the highest numbers first.
 */
import type { ProjectContainer } from './containers.js';
import { L } from './labels.js';
import { serviceHash } from './convert.js';
import type { Service } from './model/types.js';

export type Action =
  | { kind: 'create'; number: number }
  | { kind: 'recreate'; number: number; container: ProjectContainer }
  | { kind: 'start'; number: number; container: ProjectContainer }
  | { kind: 'keep'; number: number; container: ProjectContainer }
  | { kind: 'remove'; number: number; container: ProjectContainer };

export interface PlanOptions {
  replicas: number;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  /** The image ID the service's image resolves to now (undefined: unknown, not compared). */
  imageId?: string;
}

export function containerNumber(c: ProjectContainer): number {
  return Number(c.Labels[L.number] ?? 0);
}

/** Why a container no longer matches its service, or undefined when it does. */
export function divergence(s: Service, c: ProjectContainer, imageId?: string): string | undefined {
  if (c.Labels[L.configHash] !== serviceHash(s)) return 'config';
  if (imageId && c.Labels[L.image] && c.Labels[L.image] !== imageId) return 'image';
  return undefined;
}

export function planService(s: Service, existing: ProjectContainer[], opts: PlanOptions): Action[] {
  const mine = existing.filter((c) => c.Labels[L.service] === s.name && c.Labels[L.oneoff] !== 'True').sort((a, b) => containerNumber(a) - containerNumber(b));
  const actions: Action[] = [];
  const kept = mine.slice(0, opts.replicas);
  const extra = mine.slice(opts.replicas);
  for (const c of extra.reverse()) actions.push({ kind: 'remove', number: containerNumber(c), container: c });
  const used = new Set<number>();
  for (const c of kept) {
    const number = containerNumber(c);
    used.add(number);
    const stale = opts.forceRecreate || (!opts.noRecreate && divergence(s, c, opts.imageId) !== undefined);
    if (stale) actions.push({ kind: 'recreate', number, container: c });
    else if (c.State !== 'running') actions.push({ kind: 'start', number, container: c });
    else actions.push({ kind: 'keep', number, container: c });
  }
  let next = 1;
  for (let i = kept.length; i < opts.replicas; i++) {
    while (used.has(next)) next++;
    used.add(next);
    actions.push({ kind: 'create', number: next });
  }
  return actions;
}

/** Services in dependency order: each after everything it depends on (ties by name, for stable output). */
export function dependencyOrder(services: Record<string, Service>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n) || !services[n]) return;
    seen.add(n);
    for (const d of Object.keys(services[n].depends_on ?? {}).sort()) visit(d);
    out.push(n);
  };
  for (const n of Object.keys(services).sort()) visit(n);
  return out;
}

/** The services named plus everything they depend on, transitively (unless noDeps). */
export function withDependencies(services: Record<string, Service>, names: string[], noDeps = false): string[] {
  if (!names.length) return Object.keys(services);
  const out = new Set<string>();
  const add = (n: string) => {
    if (out.has(n) || !services[n]) return;
    out.add(n);
    if (!noDeps) for (const d of Object.keys(services[n].depends_on ?? {})) add(d);
  };
  names.forEach(add);
  return [...out];
}
