/** `berth version`: client and server versions, docker's layout and docker's `--format` data. */
import type { SystemVersion } from '../../../api/types/system.js';
import { API_VERSION, BERTH_VERSION } from '../../../api/version.js';
import { Command, formatFlag } from '../../command.js';
import { renderOne } from '../../output/format.js';

/**
 * The value a `--format` template sees: Go field names, as docker's templates execute over its Go structs
 * (`{{.Server.APIVersion}}`; the JSON name is `ApiVersion`), while `{{json .}}` and `--format json` print the
 * JSON names (the copy's toJSON).
 */
export function goVersionView<T extends { ApiVersion?: string }>(v: T): Omit<T, 'ApiVersion'> & { APIVersion?: string } {
  const { ApiVersion, ...rest } = v;
  const view = { ...rest, APIVersion: ApiVersion };
  Object.defineProperty(view, 'toJSON', { value: () => v, enumerable: false });
  return view;
}

export const versionCommand: Command = {
  name: 'version',
  usage: '[OPTIONS]',
  description: 'Show the berth version information',
  flags: [formatFlag()],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    const client = {
      Platform: { Name: 'berth' },
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      DefaultAPIVersion: API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      BuildTime: '',
      Context: 'default',
    };
    let server: SystemVersion | undefined;
    let serverError: Error | undefined;
    try {
      server = await (await ctx.client()).system.version();
    } catch (e) {
      serverError = e as Error;
    }
    const format = flags.format as string | undefined;
    if (format) {
      ctx.stdout.write((await renderOne(format, { Client: goVersionView(client), Server: server ? goVersionView(server) : null })) + '\n');
    } else {
      const lines = [
        'Client:',
        ` Version:           ${client.Version}`,
        ` API version:       ${client.ApiVersion}`,
        ` Node.js version:   ${process.versions.node}`,
        ` OS/Arch:           ${client.Os}/${client.Arch}`,
        ` Context:           default`,
      ];
      if (server) {
        lines.push('', `Server: ${server.Platform?.Name ?? ''}`);
        for (const c of server.Components ?? []) {
          lines.push(` ${c.Name}:`, `  Version:          ${c.Version}`);
          const d = c.Details ?? {};
          if (c.Name === 'Engine') {
            lines.push(
              `  API version:      ${d.ApiVersion} (minimum version ${d.MinAPIVersion})`,
              `  Go version:       ${d.GoVersion}`,
              `  Git commit:       ${d.GitCommit}`,
              `  Built:            ${d.BuildTime}`,
              `  OS/Arch:          ${d.Os}/${d.Arch}`,
              `  Experimental:     ${d.Experimental}`,
            );
          } else {
            for (const [k, v] of Object.entries(d)) lines.push(`  ${(k + ':').padEnd(18)}${v}`);
          }
        }
      }
      ctx.stdout.write(lines.join('\n') + '\n');
    }
    if (serverError) {
      ctx.stderr.write(`${serverError.message}\n`);
      return 1;
    }
  },
};
