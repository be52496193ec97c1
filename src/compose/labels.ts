/**
 * The labels Docker Compose v2 puts on what it creates. They are the whole state of a Compose project: there is no
 * other record, so any tool that reads them (Compose v2, docker-compose 1.29, berth compose) sees the same project.
 */
export const L = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  configFiles: 'com.docker.compose.project.config_files',
  workingDir: 'com.docker.compose.project.working_dir',
  environmentFile: 'com.docker.compose.project.environment_file',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  version: 'com.docker.compose.version',
  replace: 'com.docker.compose.replace',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  slug: 'com.docker.compose.slug',
} as const;

/**
 * The Compose v2 release whose behaviour and labels berth compose follows; written in `com.docker.compose.version`
 * (docker-compose 1.29 and Compose v2 read it to tell which tool made a resource).
 */
export const COMPOSE_VERSION = '2.32.0';

/** The `label` filter that selects a project's resources (plus any further `key=value` labels) in the Engine's list calls. */
export function projectFilter(project: string, labels: string[] = []): { label: string[] } {
  return { label: [`${L.project}=${project}`, ...labels] };
}
