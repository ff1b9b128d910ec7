// Finds where a config path (`guests.103.cloneFrom`) is written in the config's source, so a
// diagnostic can say `phoenix.config.ts:20:18`.
//
// A small scanner instead of the TypeScript parser: loading `typescript` takes a second or more,
// longer than loading the config itself, and a config is mostly literals. It follows what people
// write: `export default defineConfig({...})` or an exported identifier, object literals,
// `lxc({...})`/`vm({...})` calls, arrays, `const` bindings in the same file and object spreads;
// `as`/`satisfies` are skipped. Anything else is an opaque value. A path it cannot follow to the
// end points at the deepest part it found (a missing field points at the guest that lacks it);
// source it cannot make sense of yields no location, never an error.

export interface Location {
  line: number;
  column: number;
  length: number;
}

interface Tok {
  k: 'punc' | 'str' | 'num' | 'ident' | 'other';
  v: string;
  s: number;
  e: number;
}

type Node =
  | { t: 'object'; s: number; e: number; props: Prop[] }
  | { t: 'array'; s: number; e: number; items: Node[] }
  | { t: 'call'; s: number; e: number; args: Node[] }
  | { t: 'ref'; s: number; e: number; name: string }
  | { t: 'scalar'; s: number; e: number };

type Prop = { key?: string; ks: number; ke: number; value: Node } | { spread: Node };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = src.length;
  const readQuoted = (q: string) => {
    const s = i++;
    let v = '';
    while (i < n && src[i] !== q && src[i] !== '\n') {
      if (src[i] === '\\') {
        v += src[i + 1] ?? '';
        i += 2;
      } else v += src[i++];
    }
    i++;
    out.push({ k: 'str', v, s, e: i });
  };
  const skipTemplate = () => {
    const s = i++;
    let depth = 0;
    while (i < n) {
      const c = src[i];
      if (c === '\\') i += 2;
      else if (depth === 0 && c === '`') break;
      else if (c === '$' && src[i + 1] === '{') {
        depth++;
        i += 2;
      } else if (depth > 0 && c === '}') {
        depth--;
        i++;
      } else i++;
    }
    i++;
    out.push({ k: 'other', v: '`', s, e: i });
  };
  while (i < n) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '/' && src[i + 1] === '/') while (i < n && src[i] !== '\n') i++;
    else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'" || c === '"') readQuoted(c);
    else if (c === '`') skipTemplate();
    else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^[0-9.][0-9a-zA-Z_.]*/.exec(src.slice(i, i + 64))!;
      out.push({ k: 'num', v: m[0], s: i, e: i + m[0].length });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(src.slice(i, i + 256))!;
      out.push({ k: 'ident', v: m[0], s: i, e: i + m[0].length });
      i += m[0].length;
    } else if (src.startsWith('...', i)) {
      out.push({ k: 'punc', v: '...', s: i, e: i + 3 });
      i += 3;
    } else {
      out.push({ k: 'punc', v: c, s: i, e: i + 1 });
      i++;
    }
  }
  return out;
}

const CLOSERS = new Set([',', ')', ']', '}', ';']);
const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

class Parser {
  i = 0;
  constructor(readonly toks: Tok[]) {}
  peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  is(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.k === 'punc' && t.v === v;
  }
  /** Skips a balanced group starting at an opener. */
  skipGroup(): void {
    const stack: string[] = [];
    do {
      const t = this.toks[this.i++];
      if (!t) return;
      if (t.k === 'punc' && OPENERS[t.v]) stack.push(OPENERS[t.v]!);
      else if (t.k === 'punc' && t.v === stack.at(-1)) stack.pop();
    } while (stack.length > 0);
  }
  /** Skips to the next `,`/closer at this depth (the rest of an expression we do not model). */
  skipRest(): number {
    let end = this.toks[this.i - 1]?.e ?? 0;
    for (let t = this.peek(); t && !(t.k === 'punc' && CLOSERS.has(t.v)); t = this.peek()) {
      if (t.k === 'punc' && OPENERS[t.v]) this.skipGroup();
      else this.i++;
      end = this.toks[this.i - 1]!.e;
    }
    return end;
  }
  expr(): Node {
    const t = this.peek();
    if (!t) return { t: 'scalar', s: 0, e: 0 };
    let node: Node;
    if (this.is('{')) node = this.object();
    else if (this.is('[')) node = this.list('[', ']', (s, e, items) => ({ t: 'array', s, e, items }));
    else if (this.is('(')) {
      this.i++;
      node = this.expr();
      if (this.is(')')) this.i++;
    } else if (t.k === 'ident' && t.v !== 'new' && t.v !== 'function' && t.v !== 'async') {
      const s = t.s;
      let name = t.v;
      this.i++;
      while (this.is('.') && this.peek(1)?.k === 'ident') {
        name += `.${this.peek(1)!.v}`;
        this.i += 2;
      }
      if (this.is('<')) this.skipTypeArgs();
      if (this.is('(')) node = this.list('(', ')', (_, e, args) => ({ t: 'call', s, e, args }));
      else
        node = name.includes('.')
          ? { t: 'scalar', s, e: this.toks[this.i - 1]!.e }
          : { t: 'ref', s, e: t.e, name };
    } else {
      this.i++;
      node = { t: 'scalar', s: t.s, e: t.e };
    }
    const next = this.peek();
    if (next && !(next.k === 'punc' && CLOSERS.has(next.v))) {
      const typeOnly = next.k === 'ident' && (next.v === 'as' || next.v === 'satisfies');
      const end = this.skipRest();
      if (!typeOnly) node = { t: 'scalar', s: node.s, e: end };
    }
    return node;
  }
  /** `f<T>(...)`: skips `<...>` when it is followed by a call. */
  skipTypeArgs(): void {
    const save = this.i;
    let depth = 0;
    for (let t = this.peek(); t; t = this.peek()) {
      this.i++;
      if (t.k === 'punc' && t.v === '<') depth++;
      else if (t.k === 'punc' && t.v === '>' && --depth === 0) break;
      else if (t.k === 'punc' && (t.v === ';' || t.v === ')')) break;
    }
    if (!this.is('(')) this.i = save;
  }
  list<T>(open: string, close: string, make: (s: number, e: number, items: Node[]) => T): T {
    const s = this.peek()!.s;
    this.i++;
    const items: Node[] = [];
    while (this.peek() && !this.is(close)) {
      if (this.is(',')) {
        this.i++;
        items.push({ t: 'scalar', s: 0, e: 0 }); // a hole keeps the indexes right
        continue;
      }
      if (this.is('...')) this.i++;
      const before = this.i;
      items.push(this.expr());
      if (this.is(',')) this.i++;
      else if (!this.is(close) && this.i === before) this.i++; // never stall on odd input
    }
    const e = this.peek()?.e ?? s;
    this.i++;
    void open;
    return make(s, e, items);
  }
  object(): Node {
    const s = this.peek()!.s;
    this.i++;
    const props: Prop[] = [];
    while (this.peek() && !this.is('}')) {
      const before = this.i;
      if (this.is('...')) {
        this.i++;
        props.push({ spread: this.expr() });
      } else {
        const k = this.peek()!;
        let key: string | undefined;
        if (k.k === 'ident' || k.k === 'str') key = k.v;
        else if (k.k === 'num') key = String(Number(k.v.replace(/_/g, '')));
        if (this.is('[')) this.skipGroup();
        else this.i++;
        if (this.is(':')) {
          this.i++;
          props.push({ ...(key !== undefined && { key }), ks: k.s, ke: k.e, value: this.expr() });
        } else if (this.is('(')) {
          this.skipGroup(); // a method: parameters, then its body
          if (this.is('{')) this.skipGroup();
        } else if (key !== undefined && k.k === 'ident') {
          props.push({ key, ks: k.s, ke: k.e, value: { t: 'ref', s: k.s, e: k.e, name: key } });
        }
      }
      if (this.is(',')) this.i++;
      else if (!this.is('}') && this.i === before) this.i++;
    }
    const e = this.peek()?.e ?? s;
    this.i++;
    return { t: 'object', s, e, props };
  }
}

interface Parsed {
  exported: Node;
  unwrap: (node: Node, depth?: number) => Node;
}

/** The exported value's tree, with `const` references and `lxc({...})`-style calls seen through. */
function parse(source: string): Parsed | undefined {
  let toks: Tok[];
  try {
    toks = tokenize(source);
  } catch {
    return undefined;
  }
  const consts = new Map<string, Node>();
  let exported: Node | undefined;
  const p = new Parser(toks);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.k !== 'ident') continue;
    if (
      (t.v === 'const' || t.v === 'let' || t.v === 'var') &&
      toks[i + 1]?.k === 'ident' &&
      toks[i + 2]?.v === '='
    ) {
      p.i = i + 3;
      consts.set(toks[i + 1]!.v, p.expr());
    } else if (t.v === 'export' && toks[i + 1]?.v === 'default') {
      p.i = i + 2;
      exported = p.expr();
    }
  }
  if (!exported) return undefined;
  const unwrap = (node: Node, depth = 0): Node => {
    if (depth > 20) return node;
    if (node.t === 'ref') {
      const bound = consts.get(node.name);
      return bound ? unwrap(bound, depth + 1) : node;
    }
    if (node.t === 'call' && node.args[0]) return unwrap(node.args[0], depth + 1);
    return node;
  };
  return { exported, unwrap };
}

function positions(source: string): (offset: number) => Location {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') lineStarts.push(i + 1);
  return (offset: number): Location => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1, length: 1 };
  };
}

/**
 * Keys written twice in one object literal of the exported config (`101: lxc(...)` twice): the
 * imported value only holds the last, so validation never sees the first. esbuild warns about
 * duplicate identifier and string keys but not numeric ones, which is what guest keys are.
 * Each is reported at its second (and later) occurrence, with its config path.
 */
export function duplicateKeys(source: string): { path: string; location: Location }[] {
  const parsed = parse(source);
  if (!parsed) return [];
  const position = positions(source);
  const out: { path: string; location: Location }[] = [];
  const seen = new Set<Node>();
  const walk = (node: Node, path: string, depth: number): void => {
    const n = parsed.unwrap(node);
    if (depth > 30 || seen.has(n)) return;
    seen.add(n);
    if (n.t === 'array') {
      for (const [i, item] of n.items.entries()) walk(item, path ? `${path}.${i}` : String(i), depth + 1);
    }
    if (n.t !== 'object') return;
    const keys = new Set<string>();
    for (const prop of n.props) {
      if ('spread' in prop || prop.key === undefined) continue;
      const at = path ? `${path}.${prop.key}` : prop.key;
      if (keys.has(prop.key)) {
        out.push({ path: at, location: { ...position(prop.ks), length: Math.max(1, prop.ke - prop.ks) } });
      }
      keys.add(prop.key);
      walk(prop.value, at, depth + 1);
    }
  };
  walk(parsed.exported, '', 0);
  return out;
}

/**
 * Where each path is written: its value when that is a scalar (`905`), else its key. Paths in
 * `keys` always point at the key (`memroyMb:` of an unknown field, not the `1024` after it).
 */
export function locatePaths(
  source: string,
  paths: readonly string[],
  keys: ReadonlySet<string> = new Set(),
): Map<string, Location> {
  const out = new Map<string, Location>();
  const parsed = parse(source);
  if (!parsed) return out;
  const { exported, unwrap } = parsed;
  type Span = { s: number; e: number };
  type Found = { at: Span; key?: Span; value: Node };

  // Each object's properties as a map from key to what it holds, built once per object — looking
  // up each problem's path by scanning the properties again made locating quadratic in the number
  // of problems. Built front to back, so a later property or spread overrides an earlier one, as in
  // JavaScript. Kept per spread depth: a chain of spreads (or one that spreads itself) stops
  // after 20 levels.
  const indexes = new Map<Node, Map<string, Found>[]>();
  const index = (container: Node, depth: number): Map<string, Found> => {
    let byDepth = indexes.get(container);
    if (!byDepth) {
      byDepth = [];
      indexes.set(container, byDepth);
    }
    const known = byDepth[depth];
    if (known) return known;
    const byKey = new Map<string, Found>();
    byDepth[depth] = byKey;
    if (container.t !== 'object' || depth > 20) return byKey;
    for (const prop of container.props) {
      if ('spread' in prop) {
        const spread = unwrap(prop.spread);
        if (spread.t === 'array') {
          for (const [i, item] of spread.items.entries())
            if (item.e > 0) byKey.set(String(i), { at: item, value: unwrap(item) });
        } else for (const [key, found] of index(spread, depth + 1)) byKey.set(key, found);
      } else if (prop.key !== undefined) {
        // Point at a scalar value (`905`), else at the property's name.
        const key = { s: prop.ks, e: prop.ke };
        const at = prop.value.t === 'scalar' ? prop.value : key;
        byKey.set(prop.key, { at, key, value: unwrap(prop.value) });
      }
    }
    return byKey;
  };
  const child = (container: Node, key: string): Found | undefined => {
    if (container.t === 'array') {
      const item = /^\d+$/.test(key) ? container.items[Number(key)] : undefined;
      return item && item.e > 0 ? { at: item, value: unwrap(item) } : undefined;
    }
    return index(container, 0).get(key);
  };

  const position = positions(source);

  const root = unwrap(exported);
  for (const path of paths) {
    let found: Found = { at: exported, value: root };
    for (const key of path === '' ? [] : path.split('.')) {
      const next = child(found.value, key);
      if (!next) break;
      found = next;
    }
    const at = (keys.has(path) && found.key) || found.at;
    const loc = position(at.s);
    const lineEnd = source.indexOf('\n', at.s);
    const end = Math.min(at.e, lineEnd < 0 ? source.length : lineEnd);
    out.set(path, { ...loc, length: Math.max(1, end - at.s) });
  }
  return out;
}
