import { Command, formatFlag } from '../../command.js';
import { renderOne } from '../../output/format.js';
import { bytesSize } from '../../../pkg/units/units.js';

type Info = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** docker info's server section, field for field where berth has the figure. */
function renderInfo(i: Info): string {
  const l: string[] = [
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ...((i.DriverStatus ?? []) as [string, string][]).map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ' Plugins:',
    `  Volume: ${(i.Plugins?.Volume ?? []).join(' ')}`,
    `  Network: ${(i.Plugins?.Network ?? []).join(' ')}`,
    `  Log: ${(i.Plugins?.Log ?? []).join(' ')}`,
    ` Swarm: ${i.Swarm?.LocalNodeState ?? 'inactive'}`,
    ` Runtimes: ${Object.keys(i.Runtimes ?? {}).join(' ')}`,
    ` Default Runtime: ${i.DefaultRuntime}`,
    ` Init Binary: ${i.InitBinary}`,
    ` runc version: ${i.RuncCommit?.ID ?? ''}`,
    ' Security Options:',
    ...((i.SecurityOptions ?? []) as string[]).map((s) => `  ${s.replace(/^name=/, '').split(',')[0]}`),
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${bytesSize(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` ID: ${i.ID}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    ` Debug Mode: ${i.Debug}`,
    ` Experimental: ${i.ExperimentalBuild}`,
    ` Insecure Registries:`,
    ...((i.RegistryConfig?.InsecureRegistryCIDRs ?? []) as string[]).map((c) => `  ${c}`),
    ` Live Restore Enabled: ${i.LiveRestoreEnabled}`,
  ];
  return l.join('\n') + '\n';
}

export const infoCommand: Command = {
  name: 'info',
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  flags: [formatFlag()],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    const info = (await (await ctx.client()).system.info()) as Info;
    const format = flags.format as string | undefined;
    if (format) ctx.stdout.write((await renderOne(format, info)) + '\n');
    else ctx.stdout.write(`Client:\n Version:    ${(await import('../../../api/version.js')).BERTH_VERSION}\n Context:    default\n\n` + renderInfo(info));
  },
};
