/**
 * The containers of a Compose project, as the Engine lists them (the wire ContainerSummary) narrowed to what a
 * project's container always has: Compose's labels, a name and a state. Compose finds its containers by label only,
 * so this listing is the whole "actual state" the planner and the commands start from.
 */
import type { ContainerSummary } from '../api/types/container.js';
import type { Client } from '../client/index.js';
import { L, projectFilter } from './labels.js';

/** A container found by a compose label filter: Labels, Names and State are always there. */
export type ProjectContainer = ContainerSummary & { Labels: Record<string, string>; Names: string[]; State: string };

export function asProjectContainer(c: ContainerSummary): ProjectContainer {
  return { ...c, Labels: c.Labels ?? {}, Names: c.Names ?? [], State: c.State ?? '' };
}

/** The project's containers (stopped ones too unless `all: false`), optionally narrowed by more `key=value` labels. */
export async function projectContainers(client: Client, project: string, opts: { all?: boolean; labels?: string[] } = {}): Promise<ProjectContainer[]> {
  const list = await client.containers.list({ all: opts.all ?? true, filters: projectFilter(project, opts.labels) });
  return list.map(asProjectContainer);
}

/** Every container carrying a compose project label, of any project (for `ls`). */
export async function composeContainers(client: Client): Promise<ProjectContainer[]> {
  return (await client.containers.list({ all: true, filters: { label: [L.project] } })).map(asProjectContainer);
}

/** The running containers of one service (one-off `run` containers left out), by container number. */
export async function serviceContainers(client: Client, project: string, service: string, opts: { all?: boolean } = {}): Promise<ProjectContainer[]> {
  const list = await projectContainers(client, project, { all: opts.all ?? false, labels: [`${L.service}=${service}`, `${L.oneoff}=False`] });
  return list.sort((a, b) => Number(a.Labels[L.number]) - Number(b.Labels[L.number]));
}

/** The container's name without the leading slash (its ID when it has none). */
export function nameOf(c: ProjectContainer): string {
  return (c.Names[0] ?? c.Id).replace(/^\//, '');
}
