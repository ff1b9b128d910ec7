import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/pve/quote.js';
import { canonicalJson, fingerprint, formatFingerprint } from '../../src/runner/fingerprint.js';
import { readStamps, splitDescription, writeStamps } from '../../src/runner/stamps.js';

describe('stamps in the guest description', () => {
  it('round-trips and keeps the user notes', () => {
    const text = writeStamps('my notes\nsecond line', 103, {
      config: 'aaaaaaaaaaaa.-',
      'feature:docker': 'bbbbbbbbbbbb.cccccccccccc',
    });
    expect(text.startsWith('my notes\nsecond line\nphoenix:stamps v1\n')).toBe(true);
    expect(splitDescription(text).notes).toBe('my notes\nsecond line');
    expect(readStamps(text, 103)).toEqual({
      by: 103,
      targets: { config: 'aaaaaaaaaaaa.-', 'feature:docker': 'bbbbbbbbbbbb.cccccccccccc' },
    });
  });

  it('a clone keeps only the work done inside the file system', () => {
    const text = writeStamps('', 900, {
      exists: 'x',
      config: 'y',
      'feature:base': 'z',
      app: 'w',
      template: 't',
    });
    expect(readStamps(text, 103).targets).toEqual({ 'feature:base': 'z', app: 'w' });
  });

  it('a damaged block means no stamps, never a crash', () => {
    expect(readStamps('notes\nphoenix:stamps v1\n{not json\nphoenix:end', 103)).toEqual({
      by: undefined,
      targets: {},
    });
    expect(readStamps('phoenix:stamps v1\n[1,2]', 103).targets).toEqual({});
    expect(readStamps('', 103).targets).toEqual({});
  });
});

describe('fingerprints', () => {
  it('do not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    expect(fingerprint({ a: 1, b: 2 }, {})).toEqual(fingerprint({ b: 2, a: 1 }, {}));
  });
  it('separate declaration and scripts', () => {
    const a = fingerprint({ x: 1 }, { 's.sh': 'h1' });
    const b = fingerprint({ x: 1 }, { 's.sh': 'h2' });
    expect(a.decl).toBe(b.decl);
    expect(a.scripts).not.toBe(b.scripts);
    expect(formatFingerprint(a)).toMatch(/^[0-9a-f]{12}\.[0-9a-f]{12}$/);
  });
});

describe('shell quoting for ssh', () => {
  it('leaves safe words bare and quotes the rest', () => {
    expect(shellQuote('pct')).toBe('pct');
    expect(shellQuote('net0=name=eth0,bridge=vmbr0')).toBe('net0=name=eth0,bridge=vmbr0');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's a $HOME `x`")).toBe("'it'\\''s a $HOME `x`'");
    expect(shellQuote('a\nb')).toBe("'a\nb'");
  });
});
