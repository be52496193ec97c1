/**
 * What every compose subcommand gets: the CLI context, the global compose flags (-f, -p, --project-directory,
 * --env-file, --profile, --progress, --ansi), and helpers to load the project, reach the daemon and report
 * progress. Model errors become `CliExit(1, …)` with Compose's wording (the file and field named by the loader).
 */
import type { Client } from '../../../client/index.js';
import type { FlagSpec, FlagValues } from '../../../pkg/flags/flags.js';
import { CliExit, type CliContext } from '../../command.js';
import { loadProject, LoadOptions } from '../../../compose/model/load.js';
import type { Project } from '../../../compose/model/types.js';
import { createProgress, ProgressWriter } from '../../../compose/progress.js';
import { ComposeError, ProjectRunner } from '../../../compose/apply.js';
import { ComposeModelError } from '../../../compose/model/canonical.js';
import { EnvFileError } from '../../../compose/model/dotenv.js';
import { InterpolationError } from '../../../compose/model/interpolate.js';
import { ComposeValidationError } from '../../../compose/model/schema.js';

export const globalComposeFlags: FlagSpec[] = [
  { name: 'file', short: 'f', type: 'list', description: 'Compose configuration files', valueName: 'stringArray' },
  { name: 'project-name', short: 'p', type: 'string', description: 'Project name' },
  { name: 'project-directory', type: 'string', description: 'Specify an alternate working directory\n(default: the path of the, first specified, Compose file)' },
  { name: 'env-file', type: 'list', description: 'Specify an alternate environment file', valueName: 'stringArray' },
  { name: 'profile', type: 'list', description: 'Specify a profile to enable', valueName: 'stringArray' },
  { name: 'progress', type: 'string', description: 'Set type of progress output (auto, tty, plain, json, quiet)', default: 'auto' },
  { name: 'ansi', type: 'string', description: 'Control when to print ANSI control characters ("never"|"always"|"auto")', default: 'auto' },
  { name: 'parallel', type: 'int', description: 'Control max parallelism, -1 for unlimited', default: -1 },
  { name: 'compatibility', type: 'bool', description: 'Run compose in backward compatibility mode' },
  { name: 'dry-run', type: 'bool', description: 'Execute command in dry run mode', hidden: true },
  { name: 'all-resources', type: 'bool', description: 'Include all resources, even those not used by services', hidden: true },
];

export interface ComposeContext {
  cli: CliContext;
  global: FlagValues;
  /** The program prefix for messages: "berth compose" or "docker compose". */
  prog: string;
  /** Loads the project; `services` named on the command line are enabled even if their profile is not. */
  project(services?: string[], opts?: Partial<LoadOptions>): Project;
  /** The project name without needing a compose file (-p, COMPOSE_PROJECT_NAME, else from the file). */
  projectName(): string;
  client(): Promise<Client>;
  progress(title?: string): ProgressWriter;
  runner(project: Project, title?: string): Promise<ProjectRunner>;
  /** Whether colours/ANSI may be used on stdout. */
  ansi(stream: NodeJS.WriteStream): boolean;
}

/** Loader errors (bad YAML, schema, interpolation, env files, model rules) end the command with exit 1, as Compose. */
export function modelError(e: unknown): never {
  if (e instanceof ComposeModelError || e instanceof ComposeValidationError || e instanceof InterpolationError || e instanceof EnvFileError || e instanceof ComposeError) throw new CliExit(1, e.message);
  throw e;
}

export function makeComposeContext(cli: CliContext, global: FlagValues, prog: string): ComposeContext {
  const loadOpts = (services?: string[], extra: Partial<LoadOptions> = {}): LoadOptions => ({
    files: global.file as string[],
    projectName: (global['project-name'] as string | undefined) || undefined,
    projectDirectory: global['project-directory'] as string | undefined,
    envFiles: global['env-file'] as string[],
    profiles: global.profile as string[],
    services,
    onWarning: (m) => cli.stderr.write(`WARN[0000] ${m}\n`),
    ...extra,
  });
  const ctx: ComposeContext = {
    cli,
    global,
    prog,
    project(services, extra) {
      try {
        return loadProject(loadOpts(services, extra));
      } catch (e) {
        modelError(e);
      }
    },
    projectName() {
      const explicit = (global['project-name'] as string | undefined) || process.env.COMPOSE_PROJECT_NAME;
      if (explicit) return explicit;
      return ctx.project().name;
    },
    client() {
      return cli.client();
    },
    progress(title) {
      const mode = global.progress as string;
      const tty = mode === 'tty' ? true : mode === 'plain' ? false : global.ansi === 'never' ? false : cli.stderr.isTTY;
      return createProgress(cli.stderr, { tty, title, quiet: mode === 'quiet' });
    },
    async runner(project, title) {
      return new ProjectRunner(project, await ctx.client(), ctx.progress(title));
    },
    ansi(stream) {
      if (global.ansi === 'never') return false;
      if (global.ansi === 'always') return true;
      return Boolean(stream.isTTY) && !process.env.NO_COLOR;
    },
  };
  return ctx;
}
