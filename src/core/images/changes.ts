/**
 * `--change` instructions for import and commit: a subset of Dockerfile instructions (Dockerfile syntax) applied to
 * an image's runtime config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import { invalidArgument } from '../../errdefs/index.js';
import { expandWord, expandWords, jsonArray, keyValuePairs, type Lookup } from '../../pkg/dockerfile/words.js';
import type { ContainerConfig } from './types.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** Variables of the config being changed, for `$VAR` expansion (Docker expands --change lines like a Dockerfile). */
function envLookup(cfg: ContainerConfig): Lookup {
  return (name) => {
    for (const e of cfg.Env ?? []) if (e.slice(0, e.indexOf('=')) === name) return e.slice(e.indexOf('=') + 1);
    return undefined;
  };
}

function keyValues(instr: string, rest: string, cfg: ContainerConfig): Array<[string, string]> {
  const lookup = envLookup(cfg);
  return keyValuePairs(instr, rest).map(([k, v]) => [expandWord(k, lookup), expandWord(v, lookup)]);
}

/** Applies change lines to `cfg` (mutated and returned). Throws InvalidArgument like Docker for unknown instructions. */
export function applyChanges(cfg: ContainerConfig, changes: string[]): ContainerConfig {
  for (const line of changes) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    const m = /^(\S+)\s*(.*)$/s.exec(trimmed)!;
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (!ALLOWED.has(instr)) throw invalidArgument(`${m[1]!.toLowerCase()} is not a valid change command`);
    switch (instr) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const v = jsonArray(rest.trim()) ?? ['/bin/sh', '-c', rest];
        if (instr === 'CMD') cfg.Cmd = v;
        else {
          cfg.Entrypoint = v;
        }
        break;
      }
      case 'ENV': {
        const env = [...(cfg.Env ?? [])];
        for (const [k, v] of keyValues('ENV', rest, cfg)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        cfg.Env = env;
        break;
      }
      case 'LABEL': {
        const labels = { ...(cfg.Labels ?? {}) };
        for (const [k, v] of keyValues('LABEL', rest, cfg)) labels[k] = v;
        cfg.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = { ...(cfg.ExposedPorts ?? {}) };
        for (const p of expandWords(rest, envLookup(cfg))) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalidArgument(`invalid containerPort: ${p}`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        cfg.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...(cfg.Volumes ?? {}) };
        for (const v of jsonArray(rest.trim()) ?? expandWords(rest, envLookup(cfg))) {
          if (!v) throw invalidArgument('VOLUME specified can not be an empty string');
          vols[v] = {};
        }
        cfg.Volumes = vols;
        break;
      }
      case 'WORKDIR': {
        const w = expandWord(rest.trim(), envLookup(cfg));
        cfg.WorkingDir = w.startsWith('/') ? w : `${(cfg.WorkingDir || '/').replace(/\/$/, '')}/${w}`;
        break;
      }
      case 'USER':
        cfg.User = expandWord(rest.trim(), envLookup(cfg));
        break;
      case 'STOPSIGNAL':
        cfg.StopSignal = rest.trim();
        break;
      case 'ONBUILD':
        cfg.OnBuild = [...(cfg.OnBuild ?? []), rest.trim()];
        break;
    }
  }
  return cfg;
}
