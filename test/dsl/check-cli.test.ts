// `phoenix check` as a user runs it (bin/phoenix.js → dist/cli.js; run `npm run build` first).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// A copy of the fixtures, so the bundle cache `phoenix` keeps beside a config stays out of the repository.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-check-cli-'));
fs.cpSync(path.join(root, 'test/fixtures/dsl'), work, { recursive: true });
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const fixture = (...p: string[]) => path.join(...p);

function phoenix(...args: string[]) {
  const p = spawnSync(process.execPath, [path.join(root, 'bin/phoenix.js'), ...args], {
    cwd: work,
    encoding: 'utf8',
  });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr };
}

describe('phoenix check', () => {
  it('prints one line per guest and exits 0 for a valid config', () => {
    const r = phoenix('check', '--config', fixture('basic/phoenix.config.ts'));
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(
      /^lxc {2}103 Step-CA +clone of 900 +2 cores 1024 MiB +features: base_setup,step_ca +depends on: —$/,
    );
    expect(lines[2]).toMatch(
      /^vm {2}1001 Portainer +clone of 9000 +4 cores 8192 MiB +features: docker +depends on: 103$/,
    );
    expect(lines[3]).toContain('template  from noble-server-cloudimg-amd64.qcow2');
    expect(lines[4]).toBe(`${fixture('basic/phoenix.config.ts')}: 4 guests, valid`);
  });

  it('warns, without failing, that a VM image provisioned through the agent must contain qemu-guest-agent', () => {
    const r = phoenix('check', '--config', fixture('basic/phoenix.config.ts'));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: guests.9000.image: the image must contain qemu-guest-agent');
    expect(r.stderr).toContain('fix: use an image with the agent installed');
  });

  it('exits 2 naming guest, field and the undeclared id, with file:line and the source line', () => {
    const r = phoenix('check', '--config', fixture('undeclared/phoenix.config.ts'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        `${fixture('undeclared/phoenix.config.ts')}:20:18: guests.103.cloneFrom: guest 905 is not declared`,
        '  20 |       cloneFrom: 905,',
        '     |                  ~~~',
        '  fix: declare guest 905 under guests, or clone from one of: 900',
        `1 problem in ${fixture('undeclared/phoenix.config.ts')}`,
        '',
      ].join('\n'),
    );
  });

  it('lists every problem of a JavaScript config', () => {
    const r = phoenix('check', '--config', fixture('js/phoenix.config.mjs'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('guests.900.name: "base_image" contains "_"');
    expect(r.stderr).toContain('guests.102.dependsOn.1: guest 555 is not declared');
    expect(r.stderr).toMatch(/8 problems in /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 2 with a clear message for a missing or broken file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-check-'));
    try {
      const missing = spawnSync(process.execPath, [path.join(root, 'bin/phoenix.js'), 'check'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain(`config file not found: ${path.join(dir, 'phoenix.config.ts')}`);
      expect(missing.stderr).toContain('fix: create phoenix.config.ts here, or pass --config <file>');
      fs.writeFileSync(path.join(dir, 'broken.ts'), 'export default {\n  guests: { 900: }\n};\n');
      const broken = phoenix('check', '--config', path.join(dir, 'broken.ts'));
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/broken\.ts:2:18: Unexpected "}"/);
      expect(broken.stderr).not.toMatch(/\n\s+at /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints resolved guests or problems as JSON with --json', () => {
    const good = phoenix('check', '--json', '--config', fixture('basic/phoenix.config.ts'));
    expect(good.code).toBe(0);
    const out = JSON.parse(good.stdout);
    expect(out.ok).toBe(true);
    expect(out.guests.map((g: { vmid: number }) => g.vmid)).toEqual([103, 900, 1001, 9000]);
    expect(out.guests[0]).toMatchObject({
      kind: 'lxc',
      rootfs: { storage: 'quickOS-lxc-disks', sizeGb: 16 },
    });
    const bad = phoenix('check', '--json', '--config', fixture('undeclared/phoenix.config.ts'));
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).problems).toEqual([
      expect.objectContaining({
        path: 'guests.103.cloneFrom',
        message: 'guest 905 is not declared',
        line: 20,
      }),
    ]);
  });

  it('redacts cloud-init passwords and SSH keys in --json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-check-redact-'));
    try {
      const file = path.join(dir, 'phoenix.config.mjs');
      fs.writeFileSync(
        file,
        `export default { storages: { vmd: { type: 'dir', content: ['images', 'import'] } }, guests: {
  9000: { kind: 'vm', name: 'ci', image: 'vmd:import/noble.qcow2', storage: 'vmd', bridge: 'vmbr0',
    cloudInit: { user: 'ops', password: 'hunter2-secret', sshKeys: ['ssh-ed25519 AAAAC3secretkey ops@x'] } },
} };\n`,
      );
      const r = phoenix('check', '--json', '--config', file);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('hunter2-secret');
      expect(r.stdout).not.toContain('AAAAC3secretkey');
      expect(JSON.parse(r.stdout).guests[0].cloudInit).toMatchObject({
        password: '<redacted>',
        sshKeys: ['<redacted>'],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has --help', () => {
    const r = phoenix('check', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: phoenix check [options]');
    expect(r.stdout).toContain('-c, --config <file>');
  });
});
