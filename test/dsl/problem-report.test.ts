// How a broken config is reported to a newcomer: the root cause rather than its echoes on every
// clone, a throw while loading at its line in the user's file, a renamed name suggested, and an
// unknown field pointed at by its key.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lxc, vm } from '../../src/dsl/define.js';
import { type Diagnostic, formatDiagnostics } from '../../src/dsl/diagnostics.js';
import { loadConfig } from '../../src/dsl/load.js';
import { validateConfig } from '../../src/dsl/validate.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-problem-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

const storages = {
  local: { type: 'dir', content: ['vztmpl', 'import'], path: '/var/lib/vz' },
  'local-zfs': { type: 'zfspool', content: ['rootdir', 'images'], pool: 'rpool/data' },
};
const ostemplate = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

function problems(guests: Record<string, unknown>, features = {}): Diagnostic[] {
  const r = validateConfig({ storages, features, guests }, '/srv/phoenix.config.ts');
  return r.ok ? [] : r.error;
}

describe('the root cause first', () => {
  it("reports a template's undeclared storage once, not again as advice to its clones", () => {
    const ds = problems({
      101: lxc({ name: 'web', cloneFrom: 900 }),
      102: lxc({ name: 'db', cloneFrom: 900, rootfs: { storage: 'local-zfs', sizeGb: 8 } }),
      900: lxc({ name: 'base', template: true, ostemplate, rootfs: { storage: 'local-lvm', sizeGb: 8 } }),
      9000: vm({
        name: 'cloud',
        template: true,
        image: 'local:import/noble-server-cloudimg-amd64.qcow2',
        storage: 'local-lvm',
        bridge: 'vmbr0',
        cloudInit: { user: 'admin' },
      }),
      1001: vm({ name: 'app', cloneFrom: 9000 }),
    });
    expect(ds.map((d) => d.path)).toEqual(['guests.900.rootfs.storage', 'guests.9000.storage']);
    expect(ds[0]!.message).toBe('storage "local-lvm" is not declared');
    // "omit rootfs.storage" would move 102 onto the undeclared storage too.
    expect(formatDiagnostics(ds)).not.toContain('omit rootfs.storage');
  });

  it('still reports a clone that disagrees with a valid source', () => {
    const ds = problems({
      102: lxc({ name: 'db', cloneFrom: 900, rootfs: { storage: 'other', sizeGb: 4 } }),
      900: lxc({ name: 'base', template: true, ostemplate, rootfs: { storage: 'local-zfs', sizeGb: 8 } }),
    });
    expect(ds.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'guests.102.rootfs.storage: storage "other" is not declared',
      'guests.102.rootfs.sizeGb: is 4 GiB, smaller than its source 900 (8 GiB); a disk can only grow',
      'guests.102.rootfs.storage: is "other", but a linked clone of template 900 stays on its storage "local-zfs"',
    ]);
  });

  it('reports it once along a chain of clones that all inherit it', () => {
    const ds = problems({
      101: lxc({ name: 'web', cloneFrom: 900, template: true }),
      102: lxc({ name: 'web2', cloneFrom: 101 }),
      900: lxc({ name: 'base', template: true, ostemplate, rootfs: { storage: 'local-lvm', sizeGb: 8 } }),
    });
    expect(ds.map((d) => d.path)).toEqual(['guests.900.rootfs.storage']);
  });
});

describe('suggestions', () => {
  /** The fix offered for a guest that lists feature `name` when `declared` are the features. */
  const fixFor = (name: string, declared: string[]) =>
    problems(
      {
        900: lxc({ name: 'base', ostemplate, rootfs: { storage: 'local-zfs', sizeGb: 8 }, features: [name] }),
      },
      Object.fromEntries(declared.map((f) => [f, { script: `${f}.sh` }])),
    ).map((d) => [d.path, d.fix]);

  it('suggests the new name of a renamed feature', () => {
    expect(fixFor('docker', ['docker_ce', 'docker_proxy', 'base'])).toEqual([
      ['guests.900.features.0', 'did you mean "docker_ce"?'],
    ]);
  });

  it('does not suggest an unrelated name', () => {
    expect(fixFor('nginx', ['docker_ce'])).toEqual([
      ['guests.900.features.0', "declare it under features: { nginx: { script: '...' } }"],
    ]);
  });
});

const HEAD = `import { defineConfig, lxc } from 'phoenix-pve';\n`;
const BODY = `export default defineConfig({
  storages: { 'local-zfs': { type: 'zfspool', content: ['rootdir'] }, local: { type: 'dir', content: ['vztmpl'] } },
  guests: {
    900: lxc({ name: 'base', ostemplate: '${ostemplate}', rootfs: { storage: 'local-zfs', sizeGb: 8 }, colour: 'blue' }),
  },
});
`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `phoenix check` as a user runs it: the bundle is imported by plain Node, not by the test runner. */
function check(file: string) {
  const p = spawnSync(process.execPath, [path.join(root, 'bin/phoenix.js'), 'check', '-c', file], {
    cwd: path.dirname(file),
    encoding: 'utf8',
  });
  return { code: p.status, stderr: p.stderr };
}

describe('places in the file', () => {
  it('underlines an unknown field at its key, not at its value', async () => {
    const file = write('unknown/phoenix.config.ts', HEAD + BODY);
    const r = await loadConfig(file, { cache: false });
    const line = (HEAD + BODY).split('\n')[4]!;
    expect(r.ok ? [] : r.error).toEqual([
      expect.objectContaining({
        path: 'guests.900.colour',
        line: 5,
        column: line.indexOf('colour') + 1,
        length: 6,
      }),
    ]);
    expect(r.ok ? {} : r.error[0]).not.toHaveProperty('underline');
  });

  it('gives a config that throws while loading its file, line and column, from the cache too', () => {
    const file = write('throws/phoenix.config.ts', `${HEAD}\nconst owner = undefinedVar;\n${BODY}`);
    for (const attempt of ['bundled now', 'from the cache']) {
      expect(check(file), attempt).toEqual({
        code: 2,
        stderr: [
          'phoenix.config.ts:3:15: the config failed while loading: undefinedVar is not defined',
          '  3 | const owner = undefinedVar;',
          '    |               ~~~~~~~~~~~~',
          `1 problem in ${file}`,
          '',
        ].join('\n'),
      });
    }
    expect(
      fs.readdirSync(path.join(path.dirname(file), '.phoenix/cache')).some((f) => f.endsWith('.mjs')),
    ).toBe(true);
  });

  it('points at the imported file of the config that threw, not at the bundle or Phoenix', () => {
    write(
      'helper/parts.ts',
      `import { lxc } from 'phoenix-pve';\nexport const base = () =>\n  lxc(missing);\n`,
    );
    const file = write(
      'helper/phoenix.config.ts',
      `import { defineConfig } from 'phoenix-pve';\nimport { base } from './parts.js';\nexport default defineConfig({ guests: { 900: base() } });\n`,
    );
    expect(check(file).stderr).toMatch(
      /^parts\.ts:3:7: the config failed while loading: missing is not defined\n/,
    );
  });
});
