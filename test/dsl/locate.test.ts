// The source locator: config paths → line:column, through the ways people write configs.
import { describe, expect, it } from 'vitest';
import { locatePaths } from '../../src/dsl/locate.js';

const SOURCE = `// comment with { braces } and 'quotes
import { defineConfig, lxc, vm } from 'phoenix-pve';
/* block { comment */
const shared = { cores: 2, memoryMb: \`\${1024}\` };
const net = [{ bridge: 'vmbr0', ip: '10.0.0.5/24' }];
const web = lxc({ name: 'web', cloneFrom: 900, ...shared, net });
const base = lxc<number>({
  name: "base}",
  rootfs: { storage: 'tank', sizeGb: 8 } as const,
  features: ['a', /* x */ 'b'],
  hook() { return { cloneFrom: 1 }; },
});

export default defineConfig({
  guests: {
    900: base,
    '901': web,
    1_000: vm({ name: 'v', cloudInit: { ip: cond ? 'dhcp' : '10.0.0.9/24' } }),
  },
} satisfies object);
`;

const at = (path: string) => {
  const loc = locatePaths(SOURCE, [path]).get(path);
  if (!loc) return undefined;
  const line = SOURCE.split('\n')[loc.line - 1]!;
  return `${loc.line}:${loc.column} ${line.slice(loc.column - 1, loc.column - 1 + loc.length)}`;
};

describe('locatePaths', () => {
  it('follows defineConfig, consts, calls, spreads and shorthand properties', () => {
    expect(at('guests.901.cloneFrom')).toBe('6:43 900');
    expect(at('guests.901.cores')).toBe('4:25 2');
    expect(at('guests.901.net.0.ip')).toBe("5:37 '10.0.0.5/24'");
    expect(at('guests.900.name')).toBe('8:9 "base}"');
    expect(at('guests.900.rootfs.sizeGb')).toBe('9:38 8');
    expect(at('guests.900.features.1')).toBe("10:27 'b'");
  });

  it('points at the key of a composite value and at the deepest part found', () => {
    expect(at('guests.900.rootfs')).toBe('9:3 rootfs');
    expect(at('guests.900.ostemplate')).toBe('16:5 900');
    expect(at('guests.1000.cloudInit.ip')).toBe("18:45 cond ? 'dhcp' : '10.0.0.9/24'");
    expect(at('')).toBe('14:16 defineConfig({');
  });

  it('yields no location for source it cannot read, rather than failing', () => {
    expect(locatePaths('export const x = 1;', ['guests']).size).toBe(0);
    expect(locatePaths('export default {{{{ "unterminated', ['guests.1']).get('guests.1')).toBeDefined();
  });
});
