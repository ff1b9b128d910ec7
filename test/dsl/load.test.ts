// loadConfig on real files: TypeScript and JavaScript configs, configs outside the repository,
// relative imports, and every way loading can fail — each with the file and, where there is one,
// the line. Fixtures in the repository are loaded with `cache: false` so tests leave no
// `.phoenix/cache` behind in it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostics } from '../../src/dsl/diagnostics.js';
import { loadConfig } from '../../src/dsl/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (...p: string[]) => path.join(root, 'test/fixtures/dsl', ...p);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-dsl-load-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

const MINIMAL = `import { defineConfig, lxc } from 'phoenix-pve';
export default defineConfig({
  storages: { tank: { type: 'zfspool', content: ['rootdir'] }, local: { type: 'dir', content: ['vztmpl'] } },
  guests: {
    900: lxc({ name: 'base', ostemplate: 'local:vztmpl/debian-12.tar.zst', rootfs: { storage: 'tank', sizeGb: 8 } }),
  },
});
`;

describe('loadConfig', () => {
  it('loads a TypeScript config and resolves it', async () => {
    const r = await loadConfig(fixture('basic/phoenix.config.ts'), { cache: false });
    expect(r.ok ? [...r.value.guests.keys()] : formatDiagnostics(r.error)).toEqual([103, 900, 1001, 9000]);
    if (r.ok) expect(r.value.file).toBe(fixture('basic/phoenix.config.ts'));
  });

  it('loads a config outside the repository, with relative imports', async () => {
    write(
      'elsewhere/guests.ts',
      `import { lxc } from 'phoenix-pve';\nexport const base = lxc({ name: 'base', template: true, ostemplate: 'local:vztmpl/debian-12.tar.zst', rootfs: { storage: 'tank', sizeGb: 8 } });\n`,
    );
    const file = write(
      'elsewhere/phoenix.config.ts',
      `import { defineConfig, lxc } from 'phoenix-pve';\nimport { base } from './guests.js';\nexport default defineConfig({\n  storages: { tank: { type: 'zfspool', content: ['rootdir'] }, local: { type: 'dir', content: ['vztmpl'] } },\n  guests: { 900: base, 901: lxc({ name: 'web', cloneFrom: 900 }) },\n});\n`,
    );
    const r = await loadConfig(file);
    expect(r.ok ? [...r.value.guests.keys()] : formatDiagnostics(r.error)).toEqual([900, 901]);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['.phoenix', 'guests.ts', 'phoenix.config.ts']);
  });

  it('reuses the bundle of an unchanged config, and notices an edit to any file it imports', async () => {
    const dir = path.join(tmp, 'elsewhere');
    const file = path.join(dir, 'phoenix.config.ts');
    const cache = path.join(dir, '.phoenix/cache');
    const bundles = () => fs.readdirSync(cache).filter((f) => f.endsWith('.mjs'));
    expect(bundles()).toHaveLength(1);
    const names = async () => {
      const r = await loadConfig(file);
      return r.ok ? [...r.value.guests.values()].map((g) => g.name) : formatDiagnostics(r.error);
    };
    expect(await names()).toEqual(['base', 'web']);
    fs.writeFileSync(
      path.join(dir, 'guests.ts'),
      fs.readFileSync(path.join(dir, 'guests.ts'), 'utf8').replace("'base'", "'base2'"),
    );
    expect(await names()).toEqual(['base2', 'web']);
    expect(bundles()).toHaveLength(1); // the stale bundle is gone
    fs.writeFileSync(path.join(cache, fs.readdirSync(cache).find((f) => f.endsWith('.json'))!), '{damaged');
    expect(await names()).toEqual(['base2', 'web']);
    const r = await loadConfig(file, { cache: false });
    expect(r.ok).toBe(true);
  });

  it('names guest, field and id for an undeclared clone source, with file:line', async () => {
    const r = await loadConfig(fixture('undeclared/phoenix.config.ts'), { cache: false });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toEqual([
      {
        path: 'guests.103.cloneFrom',
        message: 'guest 905 is not declared',
        fix: 'declare guest 905 under guests, or clone from one of: 900',
        file: fixture('undeclared/phoenix.config.ts'),
        line: 20,
        column: 18,
        length: 3,
      },
    ]);
  });

  it('reports every problem of a JavaScript config, in file order', async () => {
    const r = await loadConfig(fixture('js/phoenix.config.mjs'), { cache: false });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((d) => `${d.line}:${d.path}`)).toEqual([
      '8:guests.900.name',
      '12:guests.900.boot.onboot',
      '18:guests.101.unprivileged',
      '19:guests.101.features.1',
      '21:guests.101.snapshots.0.name',
      '27:guests.102.dependsOn.1',
      '28:guests.102.net.0.ip',
      '28:guests.102.net.0.hwaddr',
    ]);
  });

  it('points a missing field at the guest that lacks it', async () => {
    const file = write(
      'missing/phoenix.config.ts',
      MINIMAL.replace("ostemplate: 'local:vztmpl/debian-12.tar.zst', ", ''),
    );
    const r = await loadConfig(file, { checkFiles: false });
    expect(r.ok ? [] : r.error.map((d) => [d.path, d.line, d.column])).toEqual([
      ['guests.900.ostemplate', 5, 5],
    ]);
  });

  it('reports a missing script relative to the config', async () => {
    const file = write(
      'scripts/phoenix.config.ts',
      MINIMAL.replace('storages:', "features: { base: { script: 'features/base.sh' } },\n  storages:"),
    );
    const r = await loadConfig(file);
    expect(r.ok ? [] : r.error.map((d) => [d.path, d.line])).toEqual([['features.base.script', 3]]);
    fs.mkdirSync(path.join(tmp, 'scripts/features'));
    fs.writeFileSync(path.join(tmp, 'scripts/features/base.sh'), '#!/bin/sh\n');
    expect((await loadConfig(file)).ok).toBe(true);
  });

  it('reports a missing file', async () => {
    const r = await loadConfig(path.join(tmp, 'nope.config.ts'));
    expect(r.ok ? [] : r.error).toEqual([
      expect.objectContaining({
        path: '',
        message: `config file not found: ${path.join(tmp, 'nope.config.ts')}`,
      }),
    ]);
  });

  it('reports a syntax error with file:line:column', async () => {
    const file = write('syntax/phoenix.config.ts', MINIMAL.replace("name: 'base',", "name: 'base'"));
    const r = await loadConfig(file);
    expect(r.ok ? [] : r.error).toEqual([
      expect.objectContaining({
        file,
        line: 5,
        column: 29,
        message: expect.stringContaining('Expected "}"'),
      }),
    ]);
  });

  it('reports a config that throws, and one without a default export', async () => {
    const throws = write('throws/phoenix.config.mjs', "throw new Error('no secrets file');\n");
    const r1 = await loadConfig(throws);
    expect(r1.ok ? [] : r1.error.map((d) => d.message)).toEqual([
      'the config failed while loading: no secrets file',
    ]);
    const noDefault = write('nodefault/phoenix.config.mjs', 'export const config = {};\n');
    const r2 = await loadConfig(noDefault);
    expect(r2.ok ? [] : r2.error.map((d) => d.fix)).toEqual([
      'end it with `export default defineConfig({ ... })`',
    ]);
  });
  it('refuses a guest key written twice instead of dropping the first guest', async () => {
    const twice = MINIMAL.replace(
      '  },\n});',
      "    900: lxc({ name: 'again', ostemplate: 'local:vztmpl/debian-12.tar.zst', rootfs: { storage: 'tank', sizeGb: 8 } }),\n  },\n});",
    );
    const file = write('twice/phoenix.config.ts', twice);
    for (const attempt of [1, 2]) {
      // The second load must not be served a cached bundle that lost the first guest.
      const r = await loadConfig(file);
      expect(r.ok ? [] : r.error, `load ${attempt}`).toEqual([
        expect.objectContaining({
          file,
          path: 'guests.900',
          line: 6,
          column: 5,
          message: expect.stringContaining('VMID 900 is declared twice'),
        }),
      ]);
    }
  });
});
