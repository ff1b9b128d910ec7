// Bad input: a clear message with file and position, exit 2, no stack trace, nothing written.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { BASE_TEMPLATE, ct, ensureBuilt, legacyFolder, phoenix, tempDir } from './helpers.js';

beforeAll(() => ensureBuilt());

function expectRefused(args: string[], message: RegExp, out: string) {
  const r = phoenix(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  expect(existsSync(out)).toBe(false);
}

it('a missing file or folder', () => {
  const out = join(tempDir(), 'phoenix.config.ts');
  expectRefused(
    ['import', '/nonexistent/phoenix_lxc_configs.json', '-o', out],
    /^phoenix import: |\/nonexistent\/phoenix_lxc_configs\.json: no such file or folder/,
    out,
  );
});

it('a folder without legacy files', () => {
  const out = join(tempDir(), 'phoenix.config.ts');
  expectRefused(['import', tempDir(), '-o', out], /no legacy config in this folder/, out);
});

it('invalid JSON: file:line:column', () => {
  const dir = legacyFolder({ lxc: '{\n    "lxc_configs": {\n        "900": { "name": "x", }\n    }\n}\n' });
  const out = join(tempDir(), 'phoenix.config.ts');
  expectRefused(['import', dir, '-o', out], /phoenix_lxc_configs\.json:3:31: invalid JSON: /, out);
});

it('truncated JSON points at the end of the file', () => {
  const dir = legacyFolder({ vm: '{\n  "vms": [\n' });
  const out = join(tempDir(), 'phoenix.config.ts');
  expectRefused(['import', dir, '-o', out], /phoenix_vm_configs\.json:3:1: invalid JSON/, out);
});

it('wrong types in one guest: file:line:column of the value, the guest commented out, the rest imported', () => {
  const text = `${JSON.stringify({ lxc_configs: { 900: ct({ template: BASE_TEMPLATE, memory_mb: { much: true } }), 950: ct({ name: 'ok', template: BASE_TEMPLATE }) } }, null, 4)}\n`;
  const dir = legacyFolder({ lxc: text });
  const out = join(tempDir(), 'phoenix.config.ts');
  const line = text.split('\n').findIndex((l) => l.includes('"memory_mb"')) + 1;
  const r = phoenix(['import', dir, '-o', out, '--no-stubs']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    new RegExp(
      `phoenix_lxc_configs\\.json:${line}:26: lxc_configs\\.900\\.memory_mb: expected a whole number, found an object`,
    ),
  );
  expect(r.stdout).toContain('Imported 1 of 2 legacy guests');
  const written = readFileSync(out, 'utf8');
  expect(written).toContain('// NOT IMPORTED: lxc_configs.900 of phoenix_lxc_configs.json (guest 900):');
  expect(written).toContain('950: lxc({');
});

it('wrong top-level shape', () => {
  const dir = legacyFolder({ lxc: '{"lxc_configs": ["900"]}' });
  const out = join(tempDir(), 'phoenix.config.ts');
  expectRefused(
    ['import', dir, '-o', out],
    /phoenix_lxc_configs\.json:1:17: lxc_configs: expected an object keyed by CTID/,
    out,
  );
});

it('a JSON file that is not a legacy config', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'other.json'), '{"hello": 1}');
  const out = join(tempDir(), 'phoenix.config.ts');
  expectRefused(
    ['import', join(dir, 'other.json'), '-o', out],
    /other\.json:1:1: not a legacy Phoenix config/,
    out,
  );
});

it('an existing output needs --force', () => {
  const dir = tempDir();
  const out = join(dir, 'phoenix.config.ts');
  writeFileSync(out, '// mine\n');
  const legacy = legacyFolder({ lxc: { lxc_configs: { 900: ct({ template: BASE_TEMPLATE }) } } });
  const r = phoenix(['import', legacy, '-o', out]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/exists; use --force/);
  const forced = phoenix(['import', legacy, '-o', out, '--force', '--no-stubs']);
  expect(forced.code).toBe(0);
});

it('any subset of the three files is accepted, given as files', () => {
  const legacy = legacyFolder({
    lxc: { lxc_configs: { 900: ct({ template: BASE_TEMPLATE }) } },
    vm: {
      vms: [
        {
          vmid: 9000,
          name: 'tpl',
          is_template: true,
          template_image: 'n.img',
          cores: 1,
          memory_mb: 512,
          storage_pool: 'local-lvm',
          user_config: { username: 'u' },
        },
      ],
    },
  });
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'phoenix.config.ts');
  const r = phoenix(['import', join(legacy, 'phoenix_vm_configs.json'), '-o', out, '--no-stubs']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Imported 1 of 1 legacy guests/);
});
