/**
 * `--change` instructions for import and commit: a subset of Dockerfile instructions (Dockerfile syntax) applied to
 * an image's runtime config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import { invalidArgument } from '../../errdefs/index.js';
import type { ContainerConfig } from './types.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** Splits words like Dockerfile does for ENV/LABEL: quotes group, backslash escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw invalidArgument(`unmatched quote in: ${s}`);
  if (inWord) out.push(cur);
  return out;
}

/** Parses `["a","b"]` (exec form) or returns undefined for shell form. */
function jsonArray(rest: string): string[] | undefined {
  const t = rest.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

function keyValues(instr: string, rest: string): Array<[string, string]> {
  const words = splitWords(rest);
  if (words.length === 0) throw invalidArgument(`${instr} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // legacy `ENV key value with spaces`
    const m = /^\s*(\S+)\s+(.*)$/s.exec(rest);
    if (!m) throw invalidArgument(`${instr} must have two arguments`);
    return [[m[1]!, splitWords(m[2]!).join(' ')]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw invalidArgument(`${instr} names can not be blank`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
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
        const v = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        if (instr === 'CMD') cfg.Cmd = v;
        else {
          cfg.Entrypoint = v;
        }
        break;
      }
      case 'ENV': {
        const env = [...(cfg.Env ?? [])];
        for (const [k, v] of keyValues('ENV', rest)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        cfg.Env = env;
        break;
      }
      case 'LABEL': {
        const labels = { ...(cfg.Labels ?? {}) };
        for (const [k, v] of keyValues('LABEL', rest)) labels[k] = v;
        cfg.Labels = labels;
        break;
      }
      case 'EXPOSE': {
        const ports = { ...(cfg.ExposedPorts ?? {}) };
        for (const p of splitWords(rest)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalidArgument(`invalid containerPort: ${p}`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        cfg.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...(cfg.Volumes ?? {}) };
        for (const v of jsonArray(rest) ?? splitWords(rest)) {
          if (!v) throw invalidArgument('VOLUME specified can not be an empty string');
          vols[v] = {};
        }
        cfg.Volumes = vols;
        break;
      }
      case 'WORKDIR': {
        const w = splitWords(rest).join(' ');
        cfg.WorkingDir = w.startsWith('/') ? w : `${(cfg.WorkingDir || '/').replace(/\/$/, '')}/${w}`;
        break;
      }
      case 'USER':
        cfg.User = splitWords(rest).join(' ');
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
