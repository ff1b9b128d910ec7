// Adds adopted guests (and the storages and helpers they need) to an existing phoenix.config.ts
// without touching anything else in it: positions come from the syntax tree (ts-morph), the edits
// are plain text insertions applied from the end of the file backwards, so the user's
// formatting and comments stay byte for byte. New guests go in VMID order among the existing
// ones, indented like their neighbours.
import type { Node, ObjectLiteralExpression, PropertyAssignment, SourceFile } from 'ts-morph';
import type { Result } from '../runner/types.js';

export interface Addition {
  /** VMID → the guest's source as `guestSource` prints it (indented from column 0, two-space steps). */
  guests: Map<number, string>;
  /** Storage id → its declaration source (`{ type: 'dir', content: [...] }`). */
  storages: Map<string, string>;
  /** Named imports from 'phoenix-pve' the new code calls. */
  helpers: string[];
}

interface Edit {
  at: number;
  /** Replace up to here (default: insert at `at`). */
  end?: number;
  text: string;
}

export async function addToConfig(text: string, add: Addition): Promise<Result<string, string>> {
  const { Project, SyntaxKind } = await import('ts-morph');
  const project = new Project({ useInMemoryFileSystem: true });
  const sf = project.createSourceFile('phoenix.config.ts', text);
  const config = configObject(sf, SyntaxKind);
  if (!config)
    return { ok: false, error: 'cannot find `export default defineConfig({ ... })` in the config' };
  const edits: Edit[] = [];
  const guests = objectProp(config, 'guests', SyntaxKind);
  if (!guests) return { ok: false, error: 'the config object has no `guests: { ... }` to add to' };
  edits.push(...insertSorted(text, guests, add.guests, true));
  if (add.storages.size > 0) {
    const storages = objectProp(config, 'storages', SyntaxKind);
    if (!storages) return { ok: false, error: 'the config object has no `storages: { ... }` to add to' };
    edits.push(
      ...insertSorted(
        text,
        storages,
        new Map([...add.storages].map(([k, v]) => [k, `${key(k)}: ${v}`])),
        false,
      ),
    );
  }
  const imp = sf.getImportDeclaration((d) => d.getModuleSpecifierValue() === 'phoenix-pve');
  const named = imp?.getNamedImports() ?? [];
  const have = new Set(named.map((n) => n.getName()));
  const missing = add.helpers.filter((h) => !have.has(h));
  if (missing.length) {
    const last = named.at(-1);
    if (!last) return { ok: false, error: "the config does not import from 'phoenix-pve'" };
    edits.push({ at: last.getEnd(), text: missing.map((m) => `, ${m}`).join('') });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at - a.at))
    out = out.slice(0, e.at) + e.text + out.slice(e.end ?? e.at);
  return { ok: true, value: out };
}

type Kinds = typeof import('ts-morph').SyntaxKind;

function configObject(sf: SourceFile, kinds: Kinds): ObjectLiteralExpression | undefined {
  const expr = sf.getExportAssignment((e) => !e.isExportEquals())?.getExpression();
  const call = expr?.asKind(kinds.CallExpression);
  return (
    call?.getArguments()[0]?.asKind(kinds.ObjectLiteralExpression) ??
    expr?.asKind(kinds.ObjectLiteralExpression)
  );
}

function objectProp(
  obj: ObjectLiteralExpression,
  name: string,
  kinds: Kinds,
): ObjectLiteralExpression | undefined {
  const p = obj.getProperty(name)?.asKind(kinds.PropertyAssignment);
  return p?.getInitializer()?.asKind(kinds.ObjectLiteralExpression);
}

function key(k: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) || /^(0|[1-9]\d*)$/.test(k) ? k : `'${k.replace(/'/g, "\\'")}'`;
}

const lineStart = (text: string, pos: number) => text.lastIndexOf('\n', pos - 1) + 1;
const indentAt = (text: string, pos: number) => /^[ \t]*/.exec(text.slice(lineStart(text, pos)))![0];

/** Where a property's own lines begin: its first leading comment, else the property. */
function startOf(text: string, node: Node): number {
  const comments = node.getLeadingCommentRanges();
  return lineStart(text, comments.length ? comments[0]!.getPos() : node.getStart());
}

function insertSorted(
  text: string,
  obj: ObjectLiteralExpression,
  items: Map<number | string, string>,
  numeric: boolean,
): Edit[] {
  const props = obj.getProperties();
  const closing = obj.getEnd() - 1;
  const outer = indentAt(text, obj.getStart());
  const unit = detectUnit(text);
  const multiline = text.slice(obj.getStart(), obj.getEnd()).includes('\n');
  const inner = props.length && multiline ? indentAt(text, props[0]!.getStart()) : outer + unit;
  // Entries separated by blank lines (the importer's style for guests) get one too.
  const blank =
    props.length > 1 && /\n[ \t]*\n/.test(text.slice(props[0]!.getEnd(), startOf(text, props[1]!)))
      ? '\n'
      : '';
  const reindent = (src: string) =>
    src
      .replace(/\n+$/, '')
      .split('\n')
      .map((l) => {
        if (!l.trim()) return '';
        const lead = /^ */.exec(l)![0].length;
        return inner + unit.repeat(Math.floor(lead / 2)) + l.slice(lead);
      })
      .join('\n');
  const withComma = (src: string) => (src.trimEnd().endsWith(',') ? src : `${src},`);
  const nameOf = (n: Node) =>
    n.getKindName() === 'PropertyAssignment' ? (n as PropertyAssignment).getName() : '';
  const order = [...items].sort(([a], [b]) =>
    numeric ? Number(a) - Number(b) : String(a) < String(b) ? -1 : 1,
  );
  const edits: Edit[] = [];
  const trailing: string[] = [];
  for (const [k, src] of order) {
    const body = withComma(reindent(src));
    const before = numeric
      ? props.find((p) => /^\d+$/.test(nameOf(p)) && Number(nameOf(p)) > Number(k))
      : undefined;
    if (before && multiline) edits.push({ at: startOf(text, before), text: `${body}\n${blank}` });
    else trailing.push(body);
  }
  if (!trailing.length) return edits;
  if (!multiline) {
    // `guests: {}` or `{ a: ... }` on one line: rewritten as a block.
    const existing = props.map((p) => withComma(`${inner}${p.getText()}`));
    const all = [...existing, ...trailing].join(`\n${blank}`);
    return [{ at: obj.getStart(), end: obj.getEnd(), text: `{\n${all}\n${outer}}` }];
  }
  const last = props.at(-1);
  if (last && !text.slice(last.getEnd(), closing).trimStart().startsWith(','))
    edits.push({ at: last.getEnd(), text: ',' });
  const closingLine = lineStart(text, closing);
  const onOwnLine = text.slice(closingLine, closing).trim() === '';
  const pieces = trailing.map((t) => `${last ? blank : ''}${t}\n`).join('');
  edits.push(onOwnLine ? { at: closingLine, text: pieces } : { at: closing, text: `\n${pieces}${outer}` });
  return edits;
}

function detectUnit(text: string): string {
  const m = /\n(\t| +)\S/.exec(text);
  if (!m) return '  ';
  return m[1] === '\t' ? '\t' : m[1]!.length === 4 ? '    ' : '  ';
}
