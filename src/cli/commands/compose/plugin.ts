/**
 * The docker CLI plugin: `docker compose …` with the real docker CLI runs this program, installed as an executable
 * named `docker-compose` in a CLI plugins directory ($DOCKER_CONFIG/cli-plugins, ~/.docker/cli-plugins,
 * /usr/local/lib/docker/cli-plugins, …; scripts/setup.sh installs it in /usr/local/lib/docker/cli-plugins).
 *
 * The plugin protocol (docker/cli docs/extend/cli_plugins.md): `docker-compose docker-cli-plugin-metadata` prints
 * the plugin's metadata as JSON; otherwise docker runs `docker-compose [GLOBAL OPTIONS] compose [ARGS…]` with its
 * own global options first (-H, --context, --config, -D, -l, --tls…), which pick the daemon here as they would there.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, DaemonUnreachableError } from '../../../client/index.js';
import { kindOf } from '../../../errdefs/index.js';
import { FlagError, FlagSpec, parseFlags } from '../../../pkg/flags/flags.js';
import { CliExit, type CliContext } from '../../command.js';
import { COMPOSE_VERSION } from '../../../compose/labels.js';
import { hostKernel } from '../../../sys/kernel.js';

export const PLUGIN_METADATA = {
  SchemaVersion: '0.1.0',
  Vendor: 'berth',
  Version: `v${COMPOSE_VERSION}-berth`,
  ShortDescription: 'Docker Compose',
  URL: 'https://github.com/compose-spec/compose-spec',
};

const dockerGlobalFlags: FlagSpec[] = [
  { name: 'host', short: 'H', type: 'list', description: 'Daemon socket to connect to' },
  { name: 'context', short: 'c', type: 'string', description: 'Name of the context to use' },
  { name: 'config', type: 'string', description: 'Location of client config files' },
  { name: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { name: 'log-level', short: 'l', type: 'string', description: 'Set the logging level' },
  { name: 'tls', type: 'bool', description: 'Use TLS' },
  { name: 'tlsverify', type: 'bool', description: 'Use TLS and verify the remote' },
  { name: 'tlscacert', type: 'string', description: 'Trust certs signed only by this CA' },
  { name: 'tlscert', type: 'string', description: 'Path to TLS certificate file' },
  { name: 'tlskey', type: 'string', description: 'Path to TLS key file' },
];

/** The daemon docker would talk to: -H, DOCKER_HOST, the current context's endpoint, else the default socket. */
export function resolveDockerHost(flags: { host?: string[]; context?: string; config?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const hosts = flags.host ?? [];
  if (hosts.length) return hosts[hosts.length - 1];
  // DOCKER_HOST is the `default` context's endpoint; another context named explicitly wins over it.
  if (env.DOCKER_HOST && (!flags.context || flags.context === 'default')) return env.DOCKER_HOST;
  const configDir = flags.config ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  let context = flags.context ?? env.DOCKER_CONTEXT;
  if (!context) {
    try {
      context = (JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')) as { currentContext?: string }).currentContext;
    } catch {
      /* no config: the default context */
    }
  }
  if (context && context !== 'default') {
    const id = crypto.createHash('sha256').update(context).digest('hex');
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(configDir, 'contexts', 'meta', id, 'meta.json'), 'utf8')) as { Endpoints?: { docker?: { Host?: string } } };
      if (meta.Endpoints?.docker?.Host) return meta.Endpoints.docker.Host;
    } catch {
      throw new CliExit(1, `context "${context}" does not exist`);
    }
  }
  return 'unix:///var/run/docker.sock';
}

/**
 * The docker CLI tells a plugin to end by closing the socket it names in DOCKER_CLI_PLUGIN_SOCKET (an abstract
 * unix socket, `@name`), e.g. when it gets SIGINT without a terminal to deliver it to the plugin too. That close is
 * taken as the plugin's own SIGINT, so `watch` and attached `up` end as they do on Ctrl-C.
 */
function watchPluginSocket(env: NodeJS.ProcessEnv = process.env): void {
  const addr = env.DOCKER_CLI_PLUGIN_SOCKET;
  if (!addr) return;
  let sock: net.Socket;
  try {
    // Node pads abstract socket names to the whole sun_path; the CLI's (Go) name is exact-length: connect natively.
    sock = new net.Socket({ fd: hostKernel.connectUnix(addr), readable: true, writable: true });
  } catch {
    return;
  }
  sock.unref();
  sock.on('data', () => {});
  sock.on('error', () => {});
  sock.on('close', () => process.kill(process.pid, 'SIGINT'));
}

export async function pluginMain(argv: string[]): Promise<number> {
  if (argv[0] === 'docker-cli-plugin-metadata') {
    process.stdout.write(JSON.stringify(PLUGIN_METADATA, null, 2) + '\n');
    return 0;
  }
  let g;
  try {
    g = parseFlags(argv, dockerGlobalFlags, { interspersed: false });
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\n`);
      return 125;
    }
    throw e;
  }
  watchPluginSocket();
  let args = g.args;
  // Run directly (not through docker), the word `compose` may be missing.
  if (args[0] === 'compose') args = args.slice(1);
  let client: Client | undefined;
  try {
    const host = resolveDockerHost({ host: g.values.host as string[], context: g.values.context as string | undefined, config: g.values.config as string | undefined });
    const ctx: CliContext = {
      host,
      prog: 'docker',
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      async client() {
        client ??= new Client(host);
        return client;
      },
    };
    const { runCompose } = await import('./index.js');
    return await runCompose(ctx, args, 'docker');
  } catch (e) {
    if (e instanceof CliExit) {
      if (e.message) process.stderr.write(e.message.endsWith('\n') ? e.message : e.message + '\n');
      return e.code;
    }
    if (e instanceof DaemonUnreachableError) {
      process.stderr.write(`Cannot connect to the Docker daemon at ${e.host}. Is the docker daemon running?\n`);
      return 1;
    }
    if (((e as { kind?: string }).kind && kindOf(e) !== 'Internal') || (e as { status?: number }).status) {
      process.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
