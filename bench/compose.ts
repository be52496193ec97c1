/**
 * Compose clients side by side against one berthd: `up -d` and `down` of a 10-service project (one network, one
 * named volume, every service a busybox shell that exits on SIGTERM) with berth compose (`berth compose`, and the
 * real docker CLI running berth's plugin as `docker compose`) and Debian's docker-compose 1.29. Same daemon, same
 * image, separate project names; medians of 3 rounds; ratios are berth ÷ docker-compose 1.29 (goal ≤ 0.5).
 */
import fs from 'node:fs';
import path from 'node:path';
import { importBusybox, repoRoot, run, startDaemon } from '../test/harness.js';

const COMPOSE_V1 = '/usr/bin/docker-compose';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function projectYaml(): string {
  let s = 'version: "3.8"\nservices:\n';
  for (let i = 1; i <= 10; i++) {
    s += `  svc${i}:\n    image: busybox:latest\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n`;
    if (i === 1) s += '    volumes: ["data:/data"]\n';
    if (i > 1 && i <= 4) s += '    depends_on: [svc1]\n';
  }
  return s + 'volumes:\n  data: {}\n';
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync(COMPOSE_V1)) {
    console.log('docker-compose 1.29 is not installed (scripts/setup.sh installs it): nothing to compare');
    return;
  }
  const d = await startDaemon();
  try {
    await importBusybox(d, 'busybox:latest');
    const dir = path.join(d.root, 'proj');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'docker-compose.yml'), projectYaml());
    const plugins = path.join(d.root, 'docker-config', 'cli-plugins');
    fs.mkdirSync(plugins, { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'bin', 'docker-compose'), path.join(plugins, 'docker-compose'));
    const file = path.join(dir, 'docker-compose.yml');
    const env = { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.root, 'docker-config') };
    const clients: Record<string, (project: string, args: string[]) => Promise<{ code: number; stderr: string }>> = {
      'berth compose': (p, a) => run(path.join(repoRoot, 'bin/berth'), ['-H', d.host, 'compose', '-p', p, '-f', file, '--progress', 'plain', ...a], { env, timeoutMs: 300_000 }),
      'docker compose (plugin)': (p, a) => d.docker(['compose', '-p', p, '-f', file, '--progress', 'plain', ...a], { timeoutMs: 300_000 }),
      'docker-compose 1.29': (p, a) => run(COMPOSE_V1, ['-p', p, '-f', file, ...a], { env, timeoutMs: 300_000 }),
    };
    const times: Record<string, { up: number[]; down: number[] }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, c] of Object.entries(clients)) {
        const project = `bench${Object.keys(clients).indexOf(name)}`;
        const t0 = performance.now();
        const up = await c(project, ['up', '-d']);
        const t1 = performance.now();
        if (up.code !== 0) throw new Error(`${name} up failed: ${up.stderr}`);
        const down = await c(project, ['down', '-v']);
        const t2 = performance.now();
        if (down.code !== 0) throw new Error(`${name} down failed: ${down.stderr}`);
        times[name] ??= { up: [], down: [] };
        times[name].up.push(t1 - t0);
        times[name].down.push(t2 - t1);
      }
    }
    const base = times['docker-compose 1.29'];
    console.log(`10-service project, up -d / down -v, median of ${ROUNDS} (ms), ratio to docker-compose 1.29:`);
    for (const [name, t] of Object.entries(times)) {
      const up = median(t.up);
      const down = median(t.down);
      console.log(`  ${name.padEnd(24)} up ${up.toFixed(0).padStart(6)} (${(up / median(base.up)).toFixed(2)})   down ${down.toFixed(0).padStart(6)} (${(down / median(base.down)).toFixed(2)})`);
    }
  } finally {
    await d.teardown();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
