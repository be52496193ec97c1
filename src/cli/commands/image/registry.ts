/**
 * Registry commands: `berth pull`, `berth push` (also `berth image pull|push`), `berth login`, `berth logout`.
 * Progress is printed the way docker prints its jsonmessage stream when stdout is not a terminal; credentials live
 * in docker's config.json (see ../../credentials.ts) and travel to the daemon in `X-Registry-Auth`.
 */
import type { ProgressStream } from '../../../client/index.js';
import type { AuthConfig, AuthResponse } from '../../../api/types/auth.js';
import { format, familiarName, fullName, parseNormalized, type Reference } from '../../../pkg/reference/index.js';
import { CliExit, type CliContext, type Command } from '../../command.js';
import { authHeaderForDomain, configPath, convertToHostname, eraseCredentials, getCredentials, helperFor, INDEX_SERVER, loadConfig, normalizeServer, storeCredentials } from '../../credentials.js';
import { displayJSONMessages } from '../../output/progress.js';

const daemonError = (msg: string) => new CliExit(1, `Error response from daemon: ${msg}`);

/** Parses a user reference with docker's messages (exit 1). */
function parseRef(s: string): Reference {
  try {
    return parseNormalized(s);
  } catch (e) {
    throw new CliExit(1, (e as Error).message);
  }
}

/** The X-Registry-Auth header for a registry; a malformed config file only costs a warning (as in docker). */
function authHeader(ctx: CliContext, domain: string): string {
  try {
    return authHeaderForDomain(domain);
  } catch (e) {
    ctx.stderr.write(`WARNING: Error ${(e as Error).message}\n`);
    return 'e30=';
  }
}

/** Prints a progress stream (or discards it with `quiet`); an in-band error ends the command with exit 1. */
async function showProgress(ctx: CliContext, res: ProgressStream, quiet: boolean): Promise<void> {
  try {
    await displayJSONMessages(res, quiet ? undefined : ctx.stdout);
  } catch (e) {
    throw daemonError((e as Error).message);
  }
}

export const pullCommand: Command = {
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable', valueName: 'string' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  async run(ctx, args, flags) {
    const quiet = Boolean(flags.quiet);
    let ref = parseRef(args[0]!);
    if (ref.tag === undefined && ref.digest === undefined) {
      ref = { ...ref, tag: 'latest' };
      if (!quiet) ctx.stdout.write('Using default tag: latest\n');
    }
    const client = await ctx.client();
    const res = await client.images.pull(ref.digest ? `${fullName(ref)}@${ref.digest}` : fullName(ref), {
      tag: ref.digest ? undefined : ref.tag,
      platform: (flags.platform as string | undefined) || undefined,
      registryAuth: authHeader(ctx, ref.domain),
    });
    await showProgress(ctx, res, quiet);
    ctx.stdout.write(`${format(ref)}\n`);
  },
};

export const pushCommand: Command = {
  name: 'push',
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', description: 'Push all tags of an image to the repository' },
    { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  async run(ctx, args, flags) {
    const quiet = Boolean(flags.quiet);
    const all = Boolean(flags['all-tags']);
    let ref = parseRef(args[0]!);
    if (all && (ref.tag !== undefined || ref.digest !== undefined)) throw new CliExit(1, "tag can't be used with --all-tags/-a");
    if (ref.digest !== undefined) throw new CliExit(1, 'cannot push a digest reference');
    if (!all && ref.tag === undefined) {
      ref = { ...ref, tag: 'latest' };
      if (!quiet) ctx.stdout.write('Using default tag: latest\n');
    }
    const client = await ctx.client();
    const res = await client.images.push(familiarName(ref), { tag: ref.tag, registryAuth: authHeader(ctx, ref.domain) });
    await showProgress(ctx, res, quiet);
    if (quiet) ctx.stdout.write(`${format(ref)}\n`);
  },
};

async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from a terminal; `secret` turns echo off (raw mode) while typing. */
function promptLine(ctx: CliContext, question: string, secret = false): Promise<string> {
  ctx.stdout.write(question);
  const stdin = ctx.stdin;
  return new Promise((resolve, reject) => {
    let buf = '';
    const wasRaw = stdin.isRaw;
    if (secret && stdin.isTTY) stdin.setRawMode(true);
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (secret && stdin.isTTY) stdin.setRawMode(wasRaw);
      stdin.pause();
      if (secret) ctx.stdout.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onEnd = () => done();
    const onData = (d: Buffer | string) => {
      for (const ch of String(d)) {
        if (ch === '\n' || ch === '\r') return done();
        if (ch === '\u0003') return done(new CliExit(130, ''));
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}

export const loginCommand: Command = {
  name: 'login',
  usage: '[OPTIONS] [SERVER]',
  description:
    'Authenticate to a registry\nDefaults to Docker Hub if no server is specified.',
  maxArgs: 1,
  flags: [
    { name: 'password', short: 'p', type: 'string', description: 'Password or Personal Access Token (PAT)', valueName: 'string' },
    { name: 'password-stdin', type: 'bool', description: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', type: 'string', description: 'Username', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    let username = ((flags.username as string | undefined) ?? '').trim();
    let password = (flags.password as string | undefined) ?? '';
    if (password && flags['password-stdin']) throw new CliExit(1, 'conflicting options: cannot specify both --password and --password-stdin');
    if (flags['password-stdin']) {
      if (!username) throw new CliExit(1, 'the --password-stdin option requires --username to be set');
      password = (await readStdin(ctx)).replace(/\n$/, '').replace(/\r$/, '');
    } else if (password) ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    const server = normalizeServer(args[0]);

    if (!username || !password) {
      let existing;
      try {
        existing = getCredentials(server);
      } catch (e) {
        throw new CliExit(1, (e as Error).message);
      }
      if (!username && !password && existing?.username && (existing.password || existing.identitytoken)) {
        // docker first tries what it already has
        ctx.stdout.write(`Authenticating with existing credentials... [Username: ${existing.username}]\n`);
        const err = await tryLogin(ctx, server, existing.username, existing.password ?? '', existing.identitytoken);
        if (err === undefined) return;
        ctx.stderr.write(`Login did not succeed, error: Error response from daemon: ${err}\n`);
      }
      if (!ctx.stdin.isTTY) throw new CliExit(1, 'Error: Cannot perform an interactive login from a non TTY device');
      if (!username) {
        const def = existing?.username;
        username = (await promptLine(ctx, def ? `Username (${def}): ` : 'Username: ')).trim() || def || '';
        if (!username) throw new CliExit(1, 'Error: Non-null Username Required');
      }
      if (!password) {
        password = await promptLine(ctx, 'Password: ', true);
        if (!password) throw new CliExit(1, 'Error: Password Required');
      }
    }
    const err = await tryLogin(ctx, server, username, password);
    if (err !== undefined) throw daemonError(err);
  },
};

/** `POST /auth`; on success stores the credentials and prints the status. Returns the daemon's refusal, if any. */
async function tryLogin(ctx: CliContext, server: string, username: string, password: string, identitytoken?: string): Promise<string | undefined> {
  const client = await ctx.client();
  let resp: AuthResponse | undefined;
  try {
    const body: AuthConfig = { username, password, serveraddress: server };
    if (identitytoken) body.identitytoken = identitytoken;
    resp = await client.system.auth(body);
  } catch (e) {
    if (!(e as { status?: number }).status) throw e;
    return (e as Error).message;
  }
  try {
    storeCredentials(server, { username, password, identitytoken: resp?.IdentityToken || identitytoken || undefined });
  } catch (e) {
    throw new CliExit(1, `Error saving credentials: ${(e as Error).message}`);
  }
  if (!helperFor(server, loadConfig())) {
    ctx.stderr.write(
      `WARNING! Your credentials are stored unencrypted in '${configPath()}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`,
    );
  }
  ctx.stdout.write(`${resp?.Status || 'Login Succeeded'}\n`);
  return undefined;
}

export const logoutCommand: Command = {
  name: 'logout',
  usage: '[SERVER]',
  description: 'Log out from a registry\nIf no server is specified, the default is defined by the daemon.',
  maxArgs: 1,
  async run(ctx, args) {
    const server = normalizeServer(args[0]);
    let keys: string[];
    let shown: string;
    if (server === INDEX_SERVER) {
      keys = [INDEX_SERVER];
      shown = INDEX_SERVER;
    } else {
      const host = convertToHostname(args[0]!);
      keys = [...new Set([args[0]!, host, `http://${host}`, `https://${host}`])];
      shown = host;
    }
    ctx.stdout.write(`Removing login credentials for ${shown}\n`);
    try {
      eraseCredentials(keys);
    } catch (e) {
      ctx.stderr.write(`WARNING: could not erase credentials:\n${shown}: ${(e as Error).message}\n`);
    }
  },
};
