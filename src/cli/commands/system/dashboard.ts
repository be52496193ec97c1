/**
 * `berth dashboard`: makes sure the daemon's web dashboard runs (on a free loopback port when berthd was started
 * without `--dashboard`) and prints its URL, which carries the access token. With a desktop session it also opens
 * the URL in the browser (xdg-open), unless `--no-open`.
 */
import { spawn } from 'node:child_process';
import { Command, println } from '../../command.js';
import { findExecutable } from '../../../daemon/config.js';

export const dashboardCommand: Command = {
  name: 'dashboard',
  usage: '[OPTIONS]',
  description: "Start berth's web dashboard if needed and print its URL",
  flags: [{ name: 'no-open', type: 'bool', description: 'Print the URL only; do not open a browser' }],
  maxArgs: 0,
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const status = await client.system.dashboard();
    println(ctx, status.URL);
    const xdgOpen = findExecutable('xdg-open');
    if (!flags['no-open'] && xdgOpen && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && xdgOpen.startsWith('/'))
      spawn(xdgOpen, [status.URL], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
  },
};
