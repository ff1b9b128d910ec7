// Command-line parsing as PVE's `get_options` does it with Getopt::Long: options with `-` or
// `--` prefix anywhere (permute), `--opt=value`, unique-prefix abbreviations, booleans with an
// optional value, `--` ending options, positional arguments in `$cmddef` order, `extra-args`
// taking the rest. Errors are PVE::Exceptions with code 400 (UsageError) after Getopt's own
// warning on stderr.
import { UsageError } from './errors.js';
import type { Out } from './io.js';
import { allPropNames, lookupProp, type Props, parseBoolean } from './schema.js';

export type Params = Record<string, string | string[]>;

/** A single-valued option, or undefined when absent (repeatable options are arrays). */
export const paramStr = (p: Params, k: string): string | undefined =>
  typeof p[k] === 'string' ? (p[k] as string) : undefined;
export const paramNum = (p: Params, k: string): number => Number(paramStr(p, k));

export function getOptions(
  io: Out,
  argv: string[],
  props: Props,
  argParams: string[],
  fixed: string[],
): Params {
  const names = allPropNames(props).filter((n) => !fixed.includes(n) && !argParams.includes(n));
  const params: Params = {};
  const rest: string[] = [];
  let failed = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(a);
    if (!m || a === '-') {
      rest.push(a);
      continue;
    }
    const given = m[1]!;
    let name = names.includes(given) ? given : undefined;
    if (!name) {
      const candidates = names.filter((n) => n.startsWith(given));
      if (candidates.length === 1) name = candidates[0];
      else if (candidates.length > 1) {
        io.err(`Option ${given} is ambiguous (${candidates.sort().join(', ')})\n`);
        failed = true;
        continue;
      }
    }
    if (!name) {
      io.err(`Unknown option: ${given}\n`);
      failed = true;
      continue;
    }
    const p = lookupProp(props, name)!;
    const isBool = p.type === 'boolean';
    const isArray = p.type === 'array' || (typeof p.format === 'string' && p.format.endsWith('-list'));
    let value = m[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (isBool) {
        if (next !== undefined && !(next.length > 1 && next.startsWith('-')) && next !== '--') {
          value = next;
          i++;
        } else value = '';
      } else if (next === undefined) {
        // A mandatory string takes anything that follows, even `-x` (Getopt::Long).
        io.err(`Option ${name} requires an argument\n`);
        failed = true;
        continue;
      } else {
        value = next;
        i++;
      }
    }
    if (isArray && typeof params[name] === 'string') params[name] = `${params[name]},${value}`;
    else params[name] = value;
  }
  if (failed) throw new UsageError('unable to parse option');
  for (const arg of argParams) {
    if (arg === 'extra-args') {
      params['extra-args'] = rest.splice(0);
      break;
    }
    if (rest.length === 0) {
      const p = lookupProp(props, arg);
      if (p && !p.optional) throw new UsageError('not enough arguments');
      continue;
    }
    params[arg] = rest.shift()!;
  }
  if (rest.length > 0) throw new UsageError('too many arguments');
  for (const [k, v] of Object.entries(params)) {
    const p = lookupProp(props, k);
    if (p?.type === 'boolean' && typeof v === 'string') {
      if (v === '') params[k] = '1';
      else {
        const b = parseBoolean(v);
        if (b === undefined) throw new UsageError('unable to parse boolean option');
        params[k] = String(b);
      }
    }
  }
  return params;
}

/** The short usage line `getopt_usage` prints after a parameter error. */
export function usageLine(
  prefix: string,
  props: Props,
  argParams: string[],
  fixed: string[],
  formatOptions = false,
): string {
  const args = argParams
    .map((a) => {
      const p = lookupProp(props, a);
      return p?.optional ? `[<${a}>]` : `<${a}>`;
    })
    .join(' ');
  const hasOptions = allPropNames(props).some((n) => !argParams.includes(n) && !fixed.includes(n));
  return `${prefix} ${args}${hasOptions ? ' [OPTIONS]' : ''}${formatOptions ? ' [FORMAT_OPTIONS]' : ''}`;
}
