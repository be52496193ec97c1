/**
 * Pure pieces of instruction handling: Go durations (HEALTHCHECK flags), HEALTHCHECK parsing, Go's `%v` of a string
 * list (Docker's history text for CMD/ENTRYPOINT/SHELL/VOLUME).
 */
import type { HealthConfig } from '../core/images/types.js';
import { invalidArgument } from '../errdefs/index.js';
import { parseDurationNs } from '../pkg/units/units.js';
import type { Instruction } from './dockerfile/parser.js';

export const goQuoteList = (a: string[]) => `[${a.map((s) => JSON.stringify(s)).join(' ')}]`;

/**
 * Go duration text (`30s`, `1m30s`, `500ms`) → nanoseconds: Go's time.ParseDuration (pkg/units, with its wording
 * in the 400), negative durations refused.
 */
export function parseGoDuration(s: string): number {
  let ns: number;
  try {
    ns = parseDurationNs(s);
  } catch (e) {
    throw invalidArgument((e as Error).message);
  }
  if (ns < 0) throw invalidArgument(`time: invalid duration "${s}"`);
  return ns;
}

export function parseHealthcheck(ins: Instruction): HealthConfig {
  const rest = ins.rest.trim();
  if (rest.toUpperCase() === 'NONE') {
    if (ins.flags.length) throw invalidArgument('HEALTHCHECK NONE takes no flags');
    return { Test: ['NONE'] };
  }
  const m = /^CMD\s+([\s\S]+)$/i.exec(rest);
  if (!m) throw invalidArgument('Unknown type "' + rest.split(/\s+/)[0] + '" in HEALTHCHECK (try CMD)');
  const json = m[1]!.trim().startsWith('[') ? (() => {
    try {
      const v = JSON.parse(m[1]!) as unknown;
      return Array.isArray(v) ? (v as string[]) : undefined;
    } catch {
      return undefined;
    }
  })() : undefined;
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', m[1]!.trim()] };
  for (const f of ins.flags) {
    switch (f.name) {
      case 'interval':
        hc.Interval = parseGoDuration(f.value);
        break;
      case 'timeout':
        hc.Timeout = parseGoDuration(f.value);
        break;
      case 'start-period':
        hc.StartPeriod = parseGoDuration(f.value);
        break;
      case 'start-interval':
        (hc as Record<string, unknown>).StartInterval = parseGoDuration(f.value);
        break;
      case 'retries': {
        const n = Number(f.value);
        if (!Number.isInteger(n) || n < 0) throw invalidArgument(`--retries must be a non-negative integer`);
        hc.Retries = n;
        break;
      }
      default:
        throw invalidArgument(`dockerfile parse error on line ${ins.line}: unknown flag: ${f.name}`);
    }
  }
  return hc;
}


