/**
 * The Compose application model after loading: every file merged, variables interpolated, short syntax turned
 * into the spec's long syntax, relative paths made absolute, and names resolved (networks and volumes carry the
 * Engine name they are created under). This is what `config` prints and what the planner works from.
 */

export interface Project {
  /** The project name (validated: lowercase letters, digits, `-` and `_`, starting with a letter or digit). */
  name: string;
  /** The project directory: relative paths in the files are resolved against it. */
  workingDir: string;
  /** Absolute paths of the compose files that made this model, in merge order. */
  configFiles: string[];
  /** Env files read for interpolation (`.env` or `--env-file`). */
  envFiles: string[];
  /** Enabled services only (profiles applied). */
  services: Record<string, Service>;
  /** Services left out by profiles (kept so commands can name them). */
  disabled: Record<string, Service>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObjectConfig>;
  configs: Record<string, FileObjectConfig>;
}

export interface PortConfig {
  target: number;
  published?: string;
  host_ip?: string;
  protocol: string;
  mode: string;
  name?: string;
}

export interface ServiceVolume {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  /** Absolute host path (bind) or the project volume key (volume); absent for anonymous volumes and tmpfs. */
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: string };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number | string; mode?: number };
}

export interface DependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  restart: boolean;
  required: boolean;
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  priority?: number;
}

export interface BuildConfig {
  context: string;
  dockerfile?: string;
  args?: Record<string, string | null>;
  target?: string;
  cache_from?: string[];
  labels?: Record<string, string>;
  network?: string;
  extra_hosts?: string[];
  shm_size?: string | number;
  no_cache?: boolean;
  pull?: boolean;
}

export interface Healthcheck {
  test?: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
  disable?: boolean;
}

export interface ServiceFileObject {
  source: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

/** One service, canonical form. Fields the planner does not interpret stay as the spec writes them. */
export interface Service {
  name: string;
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  env_file?: { path: string; required: boolean }[];
  labels?: Record<string, string>;
  ports?: PortConfig[];
  expose?: string[];
  volumes?: ServiceVolume[];
  tmpfs?: string[];
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  restart?: string;
  deploy?: {
    replicas?: number;
    resources?: { limits?: Record<string, unknown>; reservations?: Record<string, unknown> };
    restart_policy?: { condition?: string; max_attempts?: number };
    [k: string]: unknown;
  };
  scale?: number;
  profiles?: string[];
  container_name?: string;
  extra_hosts?: string[];
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  group_add?: (string | number)[];
  init?: boolean;
  pid?: string | null;
  ipc?: string;
  oom_kill_disable?: boolean;
  oom_score_adj?: number;
  volumes_from?: string[];
  sysctls?: Record<string, string>;
  ulimits?: Record<string, { soft: number; hard: number }>;
  secrets?: ServiceFileObject[];
  configs?: ServiceFileObject[];
  links?: string[];
  external_links?: string[];
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  devices?: string[];
  logging?: { driver?: string; options?: Record<string, string> };
  pull_policy?: string;
  develop?: unknown;
  [field: string]: unknown;
}

export interface NetworkConfig {
  /** The Engine network name. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv6?: boolean;
  ipam?: { driver?: string; config?: { subnet?: string; gateway?: string; ip_range?: string }[] };
  labels?: Record<string, string>;
}

export interface VolumeConfig {
  /** The Engine volume name. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
}

export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
}
