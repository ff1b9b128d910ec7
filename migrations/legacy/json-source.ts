// Reads one legacy JSON file into a value plus the line/column of every value in it, so that a
// problem found later ("lxc_configs.101.memory_mb is not a number") can name its place in the
// file. JSON.parse stays the judge of syntax (its message is what users already know); a small
// locator walks the text afterwards only to remember positions and duplicate keys.

export interface Position {
  line: number;
  column: number;
}

export interface JsonSource {
  /** The file name shown to users (as given on the command line). */
  file: string;
  value: unknown;
  /** Position of the value at each path (`lxc_configs.101.memory_mb`, `vms[0].vmid`). */
  positions: Map<string, Position>;
  /** Paths of object keys that appear more than once (JSON.parse keeps the last). */
  duplicateKeys: string[];
}

export type ParseResult = { ok: true; value: JsonSource } | { ok: false; error: string };

/** Line and column (both 1-based) of a character offset. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  // Editors do not count a byte order mark as a column.
  let lineStart = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Appends a key to a display path: identifiers with dots, everything else quoted in brackets. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const plain = /^[A-Za-z0-9_$-]+$/.test(key);
  const part = plain ? key : JSON.stringify(key);
  if (!parent) return plain ? part : `[${part}]`;
  return plain ? `${parent}.${part}` : `${parent}[${part}]`;
}

export function parseJsonSource(file: string, text: string): ParseResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    // V8's messages do not always carry a position (and quote the whole text when short), so the
    // locator, which is also a strict parser, names the place and says what it expected there.
    try {
      new Locator(text, new Map(), []).run();
    } catch (e) {
      if (e instanceof SyntaxAt) {
        const pos = positionAt(text, e.offset);
        return { ok: false, error: `${file}:${pos.line}:${pos.column}: invalid JSON: ${e.message}` };
      }
    }
    const message = error instanceof Error ? error.message : String(error);
    const pos = positionAt(text, text.length);
    return { ok: false, error: `${file}:${pos.line}:${pos.column}: invalid JSON: ${message}` };
  }
  const positions = new Map<string, Position>();
  const duplicateKeys: string[] = [];
  new Locator(text, positions, duplicateKeys).run();
  return { ok: true, value: { file, value, positions, duplicateKeys } };
}

class SyntaxAt extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/;

/** A strict recursive-descent walk that records where each value starts. */
class Locator {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly positions: Map<string, Position>,
    private readonly duplicates: string[],
  ) {}

  run(): void {
    if (this.text.charCodeAt(0) === 0xfeff) this.i = 1;
    this.value('');
    this.ws();
    if (this.i < this.text.length) this.fail('unexpected text after the end of the JSON value');
  }

  private fail(message: string, at = this.i): never {
    throw new SyntaxAt(at, message);
  }

  private found(): string {
    const c = this.text[this.i];
    return c === undefined ? 'the end of the file' : JSON.stringify(c);
  }

  private ws(): void {
    while (this.i < this.text.length && /[ \t\r\n]/.test(this.text[this.i] ?? '')) this.i++;
  }

  private value(path: string): void {
    this.ws();
    this.positions.set(path, positionAt(this.text, this.i));
    const c = this.text[this.i];
    if (c === '{') this.object(path);
    else if (c === '[') this.array(path);
    else if (c === '"') this.string();
    else {
      const m = LITERAL.exec(this.text.slice(this.i, this.i + 64));
      if (!m) this.fail(`expected a value, found ${this.found()}`);
      this.i += m[0].length;
    }
  }

  private object(path: string): void {
    this.i++;
    const seen = new Set<string>();
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"')
        this.fail(`expected a property name in double quotes, found ${this.found()}`);
      const key = this.string();
      const child = childPath(path, key);
      if (seen.has(key)) this.duplicates.push(child);
      seen.add(key);
      this.ws();
      if (this.text[this.i] !== ':') this.fail(`expected ':' after the property name, found ${this.found()}`);
      this.i++;
      this.value(child);
      this.ws();
      const c = this.text[this.i];
      if (c === '}') {
        this.i++;
        return;
      }
      if (c !== ',') this.fail(`expected ',' or '}' after a property value, found ${this.found()}`);
      this.i++;
      this.ws();
      if (this.text[this.i] === '}') this.fail('trailing comma before }', this.i);
    }
  }

  private array(path: string): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return;
    }
    for (let n = 0; ; n++) {
      this.value(childPath(path, n));
      this.ws();
      const c = this.text[this.i];
      if (c === ']') {
        this.i++;
        return;
      }
      if (c !== ',') this.fail(`expected ',' or ']' after a list item, found ${this.found()}`);
      this.i++;
      this.ws();
      if (this.text[this.i] === ']') this.fail('trailing comma before ]', this.i);
    }
  }

  private string(): string {
    const start = this.i;
    this.i++;
    while (this.text[this.i] !== '"') {
      if (this.i >= this.text.length) this.fail('unterminated string', start);
      const code = this.text.charCodeAt(this.i);
      if (code < 0x20) this.fail('a control character (line break?) inside a string');
      if (this.text[this.i] === '\\') this.i++;
      this.i++;
    }
    this.i++;
    try {
      return JSON.parse(this.text.slice(start, this.i)) as string;
    } catch {
      return this.fail('invalid escape in a string', start);
    }
  }
}
