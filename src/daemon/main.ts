/**
 * berthd's entry point: parse flags and daemon.json, start the daemon, wire signals.
 */
import { BERTH_VERSION } from '../api/version.js';
import { formatFlagHelp } from '../pkg/flags/flags.js';
import { Daemon } from './bootstrap.js';
import { daemonFlags, loadDaemonConfig } from './config.js';
import { capMemoryGrowth } from '../pkg/memory/idle-trim.js';

capMemoryGrowth(); // again for callers that import main.js directly; bin/berthd sets it before loading (see there)

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = loadDaemonConfig(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  if (parsed.showHelp) {
    process.stdout.write(`Usage:\tberthd [OPTIONS]\n\nA self-sufficient runtime for containers.\n\nOptions:\n${formatFlagHelp(daemonFlags)}\n`);
    return 0;
  }
  if (parsed.showVersion) {
    process.stdout.write(`berth version ${BERTH_VERSION}, build berth\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd needs to be started with root privileges.\n');
    return 1;
  }
  const daemon = new Daemon(parsed.config);
  const stop = (sig: string) => {
    daemon.logger.info(`received ${sig}`);
    void daemon.shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGPIPE', () => {});
  process.on('SIGHUP', () => {});
  try {
    await daemon.start();
  } catch (e) {
    process.stderr.write(`failed to start daemon: ${(e as Error).message}\n`);
    await daemon.shutdown().catch(() => {});
    return 1;
  }
  return -1; // keep running
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
});
