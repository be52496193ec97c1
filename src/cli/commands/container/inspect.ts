/**
 * `berth container inspect` and the top-level `berth inspect` (container, then image, network, volume): docker's
 * JSON array re-indented with 4 spaces (keys and escapes exactly as the daemon sent them), or `-f` templates.
 */
import { CliExit, type CliContext, type Command } from '../../command.js';
import { compileOne, type RowTemplate } from '../../output/format.js';
import { errorText, fatal, isNotFound } from './util.js';

/** Go's json.Indent(dst, src, prefix "", indent): re-indents compact or indented JSON text token by token. */
export function indentJSON(src: string, indent = '    '): string {
  let out = '';
  let depth = 0;
  let needIndent = false; // an opening bracket was written; a newline comes before the next value unless it closes
  const newline = () => {
    out += '\n' + indent.repeat(depth);
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      newline();
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j;
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) needIndent = false; // empty: "{}" / "[]"
        else {
          depth--;
          newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** Prints raw JSON elements as docker's IndentedInspector does: one array, 4-space indent. */
export function formatInspect(raws: string[]): string {
  if (raws.length === 0) return '[]\n';
  return indentJSON(`[${raws.join(',')}]`) + '\n';
}


/** Runs the inspect loop shared by the typed and untyped commands. */
async function inspectAll(ctx: CliContext, names: string[], format: string | undefined, get: (name: string) => Promise<string>): Promise<void> {
  const raws: string[] = [];
  const errs: string[] = [];
  let tmpl: RowTemplate | undefined;
  if (format && format !== 'json') {
    try {
      tmpl = await compileOne(format);
    } catch (e) {
      // The engine's message already reads `template parsing error: …`; docker exits 64 for it.
      throw new CliExit(64, (e as Error).message);
    }
  }
  let out = '';
  for (const n of names) {
    let raw: string;
    try {
      raw = await get(n);
    } catch (e) {
      fatal(e);
      errs.push(e instanceof CliExit ? e.message : errorText(e));
      continue;
    }
    if (format === 'json') out += JSON.stringify(JSON.parse(raw)) + '\n';
    else if (tmpl) {
      try {
        out += tmpl.execute(JSON.parse(raw)) + '\n';
      } catch (e) {
        ctx.stdout.write(out);
        throw new CliExit(1, `template parsing error: ${(e as Error).message}`);
      }
    } else raws.push(raw);
  }
  if (format) ctx.stdout.write(out);
  else ctx.stdout.write(formatInspect(raws));
  if (errs.length) throw new CliExit(1, errs.join('\n'));
}

const formatHelp =
  "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

export const containerInspectCommand: Command = {
  name: 'inspect',
  usage: 'inspect [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  minArgs: 1,
  flags: [
    { name: 'format', short: 'f', type: 'string', description: formatHelp },
    { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const size = flags.size === true;
    await inspectAll(ctx, args, flags.format as string | undefined, async (n) => (await client.containers.inspectRaw(n, { size })).trim());
  },
};

const TYPES = ['config', 'container', 'image', 'node', 'network', 'plugin', 'secret', 'service', 'task', 'volume'];

/** `berth inspect`: any object; containers first, then images, networks and volumes (docker's order). */
export const inspectCommand: Command = {
  name: 'inspect',
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on Docker objects',
  minArgs: 1,
  flags: [
    { name: 'format', short: 'f', type: 'string', description: formatHelp },
    { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes if the type is container' },
    { name: 'type', type: 'string', description: 'Only inspect objects of the given type' },
  ],
  async run(ctx, args, flags) {
    const type = (flags.type as string | undefined) ?? '';
    if (type !== '' && !TYPES.includes(type)) throw new CliExit(1, `"${type}" is not a valid value for --type`);
    const client = await ctx.client();
    const size = flags.size === true;
    const getters: [string, (n: string) => Promise<string>][] = [
      ['container', (n) => client.containers.inspectRaw(n, { size })],
      ['image', (n) => client.images.inspectRaw(n)],
      ['network', (n) => client.networks.inspectRaw(n)],
      ['volume', (n) => client.volumes.inspectRaw(n)],
    ];
    const usable = type ? getters.filter(([t]) => t === type) : getters;
    await inspectAll(ctx, args, flags.format as string | undefined, async (n) => {
      for (const [t, get] of usable) {
        try {
          return (await get(n)).trim();
        } catch (e) {
          fatal(e);
          if (!isNotFound(e)) {
            // An image reference that does not parse, for example, is "not found" for inspect's purposes.
            if ((e as { status?: number }).status === 400 && t !== 'container') continue;
            if ((e as { status?: number }).status === 400) continue;
            throw e;
          }
        }
      }
      throw new CliExit(1, `Error: No such ${type || 'object'}: ${n}`);
    });
  },
};
