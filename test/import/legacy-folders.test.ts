// Every legacy version we have imports, passes `phoenix check` (the DSL loader), type-checks,
// keeps the guest count, and imports byte-identically twice.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/dsl/load.js';
import { ensureBuilt, LEGACY, mkdirp, phoenix, ROOT, tempDir } from './helpers.js';

const folders = readdirSync(LEGACY)
  .filter((n) => /^\d{4}-\d{2}-\d{2}-/.test(n))
  .sort();

/** Guests the legacy tool could create: LXC entries plus VM entries that have a vmid. */
function legacyCount(folder: string): number {
  const read = (name: string) => {
    try {
      return JSON.parse(readFileSync(join(LEGACY, folder, name), 'utf8'));
    } catch {
      return undefined;
    }
  };
  const lxc = read('phoenix_lxc_configs.json');
  const vm = read('phoenix_vm_configs.json');
  const hv = read('phoenix_hypervisor_config.json');
  const vms = [...(vm?.vms ?? []), ...(hv?.vms ?? [])].filter((v: { vmid?: number }) => v.vmid !== undefined);
  return Object.keys(lxc?.lxc_configs ?? {}).length + vms.length;
}

const out = tempDir();

beforeAll(() => ensureBuilt());

describe.each(folders)('legacy %s', (folder) => {
  const dir = mkdirp(join(out, folder));
  const file = join(dir, 'phoenix.config.ts');

  it('imports with exit 0 and keeps every guest', async () => {
    const run = phoenix(['import', join(LEGACY, folder), '-o', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Mapped to typed fields/m);
    expect(run.stdout).toMatch(
      new RegExp(`Imported ${legacyCount(folder)} of ${legacyCount(folder)} legacy guests`),
    );

    const loaded = await loadConfig(file);
    if (!loaded.ok) throw new Error(loaded.error.map((d) => `${d.path}: ${d.message}`).join('\n'));
    expect(loaded.value.guests.size).toBe(legacyCount(folder));
    const check = phoenix(['check', '-c', file]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`${legacyCount(folder)} guests, valid`);
    // Two CLI runs (import, check): on a loaded 2-core machine they can take most of a minute.
  }, 180_000);

  it('is deterministic', () => {
    const again = join(dir, 'again.config.ts');
    const run = phoenix(['import', join(LEGACY, folder), '-o', again, '--no-stubs', '--no-report']);
    expect(run.code).toBe(0);
    // The header names the input paths, which are the same; everything else must match too.
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(file, 'utf8'));
  });
});

it('all imports pass tsc --noEmit', () => {
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        baseUrl: ROOT,
        typeRoots: [join(ROOT, 'node_modules/@types')],
        paths: { 'phoenix-pve': [join(ROOT, 'src/dsl/index.ts')] },
      },
      include: folders.map((f) => join(out, f, 'phoenix.config.ts')),
    }),
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', tsconfig], { cwd: ROOT, encoding: 'utf8' });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  expect(output).toBe('');
});

it('the top-level phoenix.config.ts is the import of the latest fleet', async () => {
  const latest = folders.at(-1) ?? '';
  expect(latest).toBe('2025-11-25-35c465b');
  const dir = tempDir();
  // Same relative input path as the committed file was made with, so the header matches too.
  const run = phoenix([
    'import',
    `test/fixtures/legacy/${latest}`,
    '-o',
    join(dir, 'phoenix.config.ts'),
    '--no-stubs',
    '--no-report',
  ]);
  expect(run.code).toBe(0);
  expect(readFileSync(join(dir, 'phoenix.config.ts'), 'utf8')).toBe(
    readFileSync(join(ROOT, 'phoenix.config.ts'), 'utf8'),
  );
  const loaded = await loadConfig(join(ROOT, 'phoenix.config.ts'));
  if (!loaded.ok) throw new Error(loaded.error.map((d) => `${d.path}: ${d.message}`).join('\n'));
  expect([...loaded.value.guests.keys()].sort((a, b) => a - b)).toEqual([
    101, 102, 103, 801, 802, 900, 901, 910, 911, 912, 914, 917, 1001, 1002, 9000,
  ]);
});
