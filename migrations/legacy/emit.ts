// ImportedConfig → the text of phoenix.config.ts, written with ts-morph (an in-memory project, a
// source file built by a writer function, then formatted). Key order is fixed per object kind
// and guests are sorted by VMID, so the same input always gives the same bytes.

import type { CodeBlockWriter } from 'ts-morph';
import { Code, type CommentedGuest, type ImportedConfig, type ImportedGuest } from './ir.js';

const LXC_ORDER = [
  'name',
  'description',
  'template',
  'cloneFrom',
  'cloneFromHost',
  'cloneSnapshot',
  'ostemplate',
  'unprivileged',
  'cores',
  'memoryMb',
  'swapMb',
  'rootfs',
  'net',
  'nameserver',
  'searchdomain',
  'pveFeatures',
  'apparmor',
  'gpus',
  'rawLxc',
  'idmap',
  'mounts',
  'zfsVolumes',
  'boot',
  'dependsOn',
  'features',
  'featureArgs',
  'app',
  'snapshots',
  'healthCheck',
  'firewall',
  'meta',
];
const VM_ORDER = [
  'name',
  'description',
  'template',
  'cloneFrom',
  'cloneFromHost',
  'image',
  'cores',
  'memoryMb',
  'storage',
  'diskGb',
  'bridge',
  'mac',
  'cloudInit',
  'nfsVolumes',
  'boot',
  'dependsOn',
  'features',
  'featureArgs',
  'app',
  'snapshots',
  'healthCheck',
  'firewall',
  'meta',
];
/** biome's line width; a value printed on one line must fit in it with its indentation and key. */
const LINE_WIDTH = 110;

export async function emitConfig(config: ImportedConfig, fileName = 'phoenix.config.ts'): Promise<string> {
  // Loaded on demand: ts-morph carries the TypeScript compiler, which no other verb needs.
  const { IndentationText, NewLineKind, Project, QuoteKind } = await import('ts-morph');
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: {
      indentationText: IndentationText.TwoSpaces,
      newLineKind: NewLineKind.LineFeed,
      quoteKind: QuoteKind.Single,
      useTrailingCommas: true,
    },
  });
  const kinds = new Set(config.guests.map((g) => g.kind));
  const helpers = [
    'defineConfig',
    ...(config.helpers ?? []),
    ...(kinds.has('lxc') ? ['lxc'] : []),
    ...(kinds.has('vm') ? ['vm'] : []),
  ];
  const source = project.createSourceFile(fileName, (w) => {
    for (const line of config.header) comment(w, line);
    w.writeLine(`import { ${helpers.join(', ')} } from 'phoenix-pve';`);
    w.blankLine();
    w.write('export default defineConfig(').inlineBlock(() => {
      for (const line of config.nodeComment) comment(w, line);
      w.writeLine(`node: ${str(config.node)},`);
      if (config.storages.size === 0) w.write('storages: {}');
      else
        w.write('storages: ').inlineBlock(() => {
          for (const [id, decl] of config.storages) {
            for (const line of config.storageComments.get(id) ?? []) comment(w, line);
            w.write(`${key(id)}: `);
            value(w, decl as unknown as Record<string, unknown>, key(id).length + 2);
            w.write(',').newLine();
          }
        });
      w.write(',').newLine();
      if (config.features.size === 0) w.write('features: {}');
      else
        w.write('features: ').inlineBlock(() => {
          for (const [name, decl] of config.features) {
            w.write(`${key(name)}: `);
            value(w, decl as unknown as Record<string, unknown>, key(name).length + 2);
            w.write(',').newLine();
          }
        });
      w.write(',').newLine();
      w.write('guests: ').inlineBlock(() => {
        config.guests.forEach((g, i) => {
          if (i > 0) w.blankLine();
          guest(w, g);
        });
        for (const c of config.commented ?? []) {
          if (config.guests.length > 0) w.blankLine();
          for (const line of commentedLines(c)) comment(w, line);
        }
      });
      w.write(',').newLine();
    });
    w.write(');').newLine();
    if (config.trailer.length > 0) {
      w.blankLine();
      for (const line of config.trailer) comment(w, line);
    }
  });
  source.formatText({ indentSize: 2, convertTabsToSpaces: true, ensureNewLineAtEndOfFile: true });
  return source.getFullText();
}

/**
 * One guest as `emitConfig` prints it inside `guests` (comments, `103: lxc({...}),`), its lines
 * indented from column 0 in steps of two spaces; line breaks are decided at the depth the guest
 * has in a config file, so it reads the same as an imported one.
 */
export async function guestSource(g: ImportedGuest): Promise<string> {
  const { CodeBlockWriter } = await import('ts-morph');
  const w = new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true, newLine: '\n' });
  w.setIndentationLevel(GUEST_DEPTH);
  guest(w, g);
  const pad = ' '.repeat(GUEST_DEPTH * 2);
  return w
    .toString()
    .split('\n')
    .map((l) => (l.startsWith(pad) ? l.slice(pad.length) : l))
    .join('\n');
}

/** `export default defineConfig({ guests: { <here> } })`. */
const GUEST_DEPTH = 2;

function guest(w: CodeBlockWriter, g: ImportedGuest): void {
  for (const line of g.comments) comment(w, line);
  // Notes about a field the import left out (a dropped dependency) go above the guest.
  for (const [field, lines] of [...g.fieldComments].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (g.fields[field] === undefined) for (const line of lines) comment(w, line);
  }
  const order = g.kind === 'lxc' ? LXC_ORDER : VM_ORDER;
  const inPlace = g.inPlaceComments ?? new Map<string, string[]>();
  const keys = [
    ...order.filter((k) => k in g.fields || inPlace.has(k)),
    ...Object.keys(g.fields)
      .filter((k) => !order.includes(k))
      .sort(),
  ];
  w.write(`${g.vmid}: ${g.kind}(`).inlineBlock(() => {
    for (const k of keys) {
      const v = g.fields[k];
      for (const line of v === undefined ? (inPlace.get(k) ?? []) : []) comment(w, line);
      if (v === undefined) continue;
      for (const line of g.fieldComments.get(k) ?? []) comment(w, line);
      w.write(`${key(k)}: `);
      value(w, v, key(k).length + 2);
      w.write(',').newLine();
    }
  });
  w.write('),').newLine();
}

/** A legacy entry that could not be expressed: its reason, then the entry itself, commented out. */
export function commentedLines(c: CommentedGuest): string[] {
  const name = c.file.split(/[\\/]/).pop() ?? c.file;
  const masked = JSON.stringify(
    c.value,
    (k, v) => (SECRET_KEY.test(k) && typeof v === 'string' ? '<removed>' : v),
    2,
  );
  return [
    `NOT IMPORTED: ${c.path} of ${name}${c.vmid !== undefined ? ` (guest ${c.vmid})` : ''}:`,
    ...c.reasons.map((r) => `  ${r}`),
    'The legacy entry, to declare here by hand once fixed:',
    ...masked.split('\n').map((l) => `  ${l}`),
  ];
}

const SECRET_KEY = /pass(word)?|secret|token|private/i;

function comment(w: CodeBlockWriter, text: string): void {
  w.writeLine(text ? `// ${text}` : '//');
}

function value(w: CodeBlockWriter, v: unknown, prefix = 0): void {
  const flat = inline(v);
  if (flat !== undefined && w.getIndentationLevel() * 2 + prefix + flat.length + 1 <= LINE_WIDTH) {
    w.write(flat);
    return;
  }
  if (Array.isArray(v)) {
    w.write('[').newLine();
    w.indent(() => {
      for (const item of v) {
        value(w, item);
        w.write(',').newLine();
      }
    });
    w.write(']');
    return;
  }
  if (typeof v === 'object' && v !== null) {
    w.write('{').newLine();
    w.indent(() => {
      for (const [k, item] of Object.entries(v)) {
        if (item === undefined) continue;
        w.write(`${key(k)}: `);
        value(w, item, key(k).length + 2);
        w.write(',').newLine();
      }
    });
    w.write('}');
    return;
  }
  w.write(flat ?? 'undefined');
}

/** One-line form of a value, if it has one. */
function inline(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (v instanceof Code) return v.text;
  if (typeof v === 'string') return str(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    // Prettier/biome always break an array of two or more objects (or arrays) with several members.
    const bulky = (x: unknown) =>
      Array.isArray(x) ? x.length > 1 : typeof x === 'object' && x !== null && Object.keys(x).length > 1;
    if (v.length > 1 && v.every(bulky)) return undefined;
    const parts = v.map(inline);
    if (parts.some((p) => p === undefined)) return undefined;
    return `[${parts.join(', ')}]`;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    const parts = entries.map(([k, x]) => {
      const flat = inline(x);
      return flat === undefined ? undefined : `${key(k)}: ${flat}`;
    });
    if (parts.some((p) => p === undefined)) return undefined;
    return `{ ${parts.join(', ')} }`;
  }
  return undefined;
}

function key(k: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k)) return k;
  if (/^(0|[1-9]\d*)$/.test(k)) return k;
  return str(k);
}

/** Single quotes, or double quotes for text with an apostrophe and no double quote (biome's choice). */
function str(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(q === "'" ? /'/g : /"/g, `\\${q}`)
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
    .replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${q}${body}${q}`;
}
