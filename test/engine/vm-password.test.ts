// The cloud-init password (finding F17): Proxmox stores it as SHA-256-crypt, Phoenix sends only such a
// hash (never the clear text in a command line), checks the
// declared password against that hash and keeps none of its own — so the stamp in the VM's Notes
// (readable with VM.Audit) does not depend on the password at all. Through the real CLI on the
// simulator; the config reads the password from the environment.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseGuestConf, verifySha256Crypt, withPendingApplied } from '../../src/pve/format/index.js';
import { readStamps } from '../../src/runner/stamps.js';
import { type Project, project } from './helpers.js';

const PW1 = 'Pw1-7c0ffee-first';
const PW2 = 'Pw2-5ca1ab1e-rotated';

const CONFIG = `import { defineConfig, vm } from 'phoenix-pve';

const password = process.env.PHOENIX_TEST_CIPASSWORD;

export default defineConfig({
  node: 'pve',
  storages: {
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
    'local-lvm': { type: 'lvmthin', content: ['rootdir', 'images'] },
  },
  guests: {
    9000: vm({
      name: 'tpl-vm',
      image: 'local:import/noble-server-cloudimg-amd64.qcow2',
      storage: 'local-lvm',
      bridge: 'vmbr0',
      cloudInit: { user: 'phoenix', password },
      template: true,
    }),
    1001: vm({
      name: 'app-vm',
      cloneFrom: 9000,
      cloudInit: { ip: '10.0.0.201/24', gw: '10.0.0.1', password },
    }),
  },
});
`;

interface Step {
  target: string;
  step: string;
  reasons: Array<{ kind: string; field?: string; text: string }>;
}

let p: Project;
const withPw = (pw: string) => ({ PHOENIX_TEST_CIPASSWORD: pw });
// As `qm config` shows it (pending values applied).
const conf = (vmid: number) =>
  withPendingApplied(
    parseGuestConf(
      readFileSync(path.join(p.simRoot, `etc/pve/nodes/pve/qemu-server/${vmid}.conf`), 'utf8'),
      'qemu',
    ),
  );
const storedHash = (vmid: number) => conf(vmid).props.cipassword ?? '';
const configStamp = (vmid: number) => readStamps(conf(vmid).description ?? '', vmid).targets.config;

function plan(pw: string): { steps: Step[]; stdout: string } {
  const r = p.run(['build', '--sim', '--dry-run', '--json'], withPw(pw));
  expect(r.status, r.stderr).toBe(0);
  return { steps: (JSON.parse(r.stdout) as { steps: Step[] }).steps, stdout: r.stdout };
}

function build(pw: string): { stdout: string; stderr: string } {
  const r = p.run(['build', '--sim'], withPw(pw));
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r;
}

/** What a `--cipassword` argument was: the hash of a known password, or (a leak) anything else. */
const shown = (value: string | undefined) => {
  const pw = [PW1, PW2].find((x) => value?.startsWith('$5$') && verifySha256Crypt(x, value));
  return pw ? `hash of ${pw}` : `not a hash: ${value}`;
};

/** `qm set <vmid>` calls that carried a password since call number `from`. */
const passwordSets = (from: number) =>
  p
    .calls()
    .slice(from)
    .filter((c) => c.cmd === 'qm' && c.args[0] === 'set' && c.args.includes('--cipassword'))
    .map((c) => ({ vmid: c.args[1], value: shown(c.args[c.args.indexOf('--cipassword') + 1]) }));

describe('the VM cloud-init password', { timeout: 240_000 }, () => {
  beforeAll(() => {
    p = project('fleet');
    writeFileSync(path.join(p.dir, 'phoenix.config.ts'), CONFIG);
  });

  it('is sent and stored as SHA-256-crypt, never as clear text, and a rebuild is a no-op', () => {
    build(PW1);
    const hash = storedHash(1001);
    expect(hash).toMatch(/^\$5\$[./0-9A-Za-z]{8,16}\$[./0-9A-Za-z]{43}$/);
    expect(verifySha256Crypt(PW1, hash)).toBe(true);
    expect(verifySha256Crypt(PW2, hash)).toBe(false);
    // The clone inherited the template's hash, which already verifies: the password went out once.
    expect(passwordSets(0)).toEqual([{ vmid: '9000', value: `hash of ${PW1}` }]);
    expect(configStamp(1001)).toMatch(/^[0-9a-f]{12}\.-$/);

    expect(plan(PW1).steps).toEqual([]);
    const calls = p.calls().length;
    build(PW1);
    expect(passwordSets(calls)).toEqual([]);
    expect(storedHash(1001)).toBe(hash); // not re-hashed with a new salt
  });

  it('a changed password makes exactly the config steps stale, without showing it, and a build applies it', () => {
    const stampBefore = configStamp(1001);
    const { steps, stdout } = plan(PW2);
    expect(steps.map((s) => s.target)).toEqual(['vm/9000:config', 'vm/1001:config']);
    for (const s of steps) {
      expect(s.reasons).toEqual([
        expect.objectContaining({
          kind: 'drifted',
          field: 'cipassword',
          text: 'drifted: cipassword: does not match the declared password → <hidden>',
        }),
      ]);
      expect(s.step).toContain('--cipassword <hidden>');
    }
    expect(stdout).not.toContain(PW1);
    expect(stdout).not.toContain(PW2);
    const explain = p.run(['explain', '1001', '--sim'], withPw(PW2));
    expect(explain.stdout).toContain('vm/1001:config: stale');
    expect(explain.stdout).toContain('cipassword: does not match the declared password');
    expect(explain.stdout + explain.stderr).not.toContain(PW2);

    const calls = p.calls().length;
    const b = build(PW2);
    expect(b.stdout + b.stderr).not.toContain(PW2);
    expect(passwordSets(calls)).toEqual([
      { vmid: '9000', value: `hash of ${PW2}` },
      { vmid: '1001', value: `hash of ${PW2}` },
    ]);
    expect(verifySha256Crypt(PW2, storedHash(1001))).toBe(true);
    // Only the password changed: the stamp in the Notes is the same, so it holds nothing of it.
    expect(configStamp(1001)).toBe(stampBefore);
    expect(plan(PW2).steps).toEqual([]);
  });

  it('a password set behind Phoenix’s back shows as drift and is put back', () => {
    const set = p.simCmd('qm', ['set', '1001', '--cipassword', 'other']);
    expect(set.status, set.stderr).toBe(0);
    expect(verifySha256Crypt('other', storedHash(1001))).toBe(true);
    // qemu-server writes the hash into the main config at once, even on a running VM: no
    // restart is due, only the config step.
    const steps = plan(PW2).steps;
    expect(steps.map((s) => s.target)).toEqual(['vm/1001:config']);
    expect(steps[0]!.reasons.map((r) => r.text)).toEqual([
      'drifted: cipassword: does not match the declared password → <hidden>',
    ]);
    const calls = p.calls().length;
    build(PW2);
    expect(passwordSets(calls)).toEqual([{ vmid: '1001', value: `hash of ${PW2}` }]);
    expect(verifySha256Crypt(PW2, storedHash(1001))).toBe(true);
    expect(plan(PW2).steps).toEqual([]);
  });

  it('the stamp does not change with the password alone (explain reports the same fingerprint)', () => {
    const fingerprint = (pw: string) => {
      const r = p.run(['explain', '1001', '--sim', '--json'], withPw(pw));
      expect(r.status, r.stderr).toBe(0);
      const steps = (JSON.parse(r.stdout) as { targets: Array<{ target: string; fingerprint: string }> })
        .targets;
      return steps.find((s) => s.target === 'vm/1001:config')!.fingerprint;
    };
    const a = fingerprint(PW1);
    expect(a).toBe(fingerprint(PW2));
    expect(a).toBe(fingerprint('yet-another-password'));
    expect(configStamp(1001)).toBe(a);
  });
});
