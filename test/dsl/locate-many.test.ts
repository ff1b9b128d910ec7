// Locating and printing many problems at once (this was quadratic in the number of
// problems). Functional only: every problem still lands on its own line; no timing here — see
// bench/diagnostics.mjs for the figures.
import { describe, expect, it } from 'vitest';
import { type Diagnostic, formatDiagnostics } from '../../src/dsl/diagnostics.js';
import { locatePaths } from '../../src/dsl/locate.js';

const N = 2000;
const FIRST_GUEST_LINE = 7;
const LINES_PER_GUEST = 6;

/** N guests, six lines each: guest i's name is on line 8 + 6i, its IP on line 11 + 6i. */
function source(): string {
  const lines = [
    "import { defineConfig, lxc } from 'phoenix-pve';",
    '',
    'const shared = { cores: 2, memoryMb: 1024 };',
    '',
    'export default defineConfig({',
    '  guests: {',
  ];
  for (let i = 0; i < N; i++) {
    lines.push(
      `    ${1000 + i}: lxc({`,
      `      name: 'bad_${i}',`,
      '      cloneFrom: 900,',
      '      ...shared,',
      `      net: [{ bridge: 'vmbr0', ip: '10.0.${i % 256}.300/24' }],`,
      '    }),',
    );
  }
  lines.push('  },', '});', '');
  return lines.join('\n');
}

describe('locating thousands of problems', () => {
  const src = source();
  const guestLine = (i: number) => FIRST_GUEST_LINE + LINES_PER_GUEST * i;

  it('puts each guest’s problems on that guest’s own lines', () => {
    const paths = [];
    for (let i = 0; i < N; i++) {
      paths.push(`guests.${1000 + i}.name`, `guests.${1000 + i}.net.0.ip`, `guests.${1000 + i}.ostemplate`);
    }
    const at = locatePaths(src, paths);
    expect(at.size).toBe(3 * N);
    for (let i = 0; i < N; i++) {
      const id = 1000 + i;
      expect(at.get(`guests.${id}.name`)).toEqual({
        line: guestLine(i) + 1,
        column: 13,
        length: 4 + String(i).length + 2,
      });
      expect(at.get(`guests.${id}.net.0.ip`)?.line).toBe(guestLine(i) + 4);
      // A missing field points at the guest that lacks it.
      expect(at.get(`guests.${id}.ostemplate`)).toEqual({ line: guestLine(i), column: 5, length: 4 });
    }
    // Through the spread: every guest's cores are the shared ones.
    expect(locatePaths(src, ['guests.1999.cores', 'guests.2999.memoryMb'])).toEqual(
      new Map([
        ['guests.1999.cores', { line: 3, column: 25, length: 1 }],
        ['guests.2999.memoryMb', { line: 3, column: 38, length: 4 }],
      ]),
    );
  });

  it('prints each problem with its own source line', () => {
    const diagnostics: Diagnostic[] = [];
    for (let i = 0; i < N; i++) {
      diagnostics.push({
        path: `guests.${1000 + i}.name`,
        message: 'contains "_"',
        file: '/x/phoenix.config.ts',
        line: guestLine(i) + 1,
        column: 13,
        length: 4 + String(i).length + 2,
      });
    }
    let reads = 0;
    const out = formatDiagnostics(diagnostics, {
      cwd: '/x',
      source: () => {
        reads++;
        return src;
      },
    }).split('\n');
    expect(reads).toBe(1);
    expect(out).toHaveLength(3 * N);
    for (let i = 0; i < N; i++) {
      const line = guestLine(i) + 1;
      expect(out[3 * i]).toBe(`phoenix.config.ts:${line}:13: guests.${1000 + i}.name: contains "_"`);
      expect(out[3 * i + 1]).toBe(`  ${line} |       name: 'bad_${i}',`);
      expect(out[3 * i + 2]).toBe(
        `  ${' '.repeat(String(line).length)} |             ${'~'.repeat(6 + String(i).length)}`,
      );
    }
  });
});

describe('property lookup keeps JavaScript’s override order', () => {
  const SRC = `const a = { x: 1, y: 2 };
const b = { ...a, y: 3 };
const loop = { ...loop, z: 4 };
export default {
  guests: {
    1: { ...b, x: 5, ...{ w: 6 } },
    2: { y: 7, ...b },
    3: { ...loop },
    4: { ...['p', 'q'] },
  },
};
`;
  const at = (path: string) => {
    const loc = locatePaths(SRC, [path]).get(path);
    return loc && `${loc.line}:${loc.column}`;
  };

  it('takes the last property or spread that defines a key', () => {
    expect(at('guests.1.x')).toBe('6:19');
    expect(at('guests.1.y')).toBe('2:22');
    expect(at('guests.1.w')).toBe('6:30');
    expect(at('guests.2.y')).toBe('2:22');
    expect(at('guests.2.x')).toBe('1:16');
    expect(at('guests.3.z')).toBe('3:28');
    expect(at('guests.4.1')).toBe('9:19');
    // Not there: the guest itself.
    expect(at('guests.2.nope')).toBe('7:5');
  });
});
