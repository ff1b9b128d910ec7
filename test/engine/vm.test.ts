// VM specifics on the simulator: cloud-init secrets applied but never shown, SSH keys staged as a
// file for `qm set --sshkeys`, the disk grown, provisioning through the guest agent.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { project } from './helpers.js';

describe('VMs', { timeout: 240_000 }, () => {
  it('apply the cloud-init password and keys, and keep the password out of plans and logs', () => {
    const p = project('fleet');
    const file = path.join(p.dir, 'phoenix.config.ts');
    const text = readFileSync(file, 'utf8').replace(
      "cloudInit: { ip: '10.0.0.201/24', gw: '10.0.0.1' },",
      "cloudInit: { ip: '10.0.0.201/24', gw: '10.0.0.1', password: 'hunter22', sshKeys: ['ssh-ed25519 AAAAC3Nza op@desk'] },",
    );
    writeFileSync(file, text);
    const b = p.run(['build', '1001', '--sim', '-v']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).not.toContain('hunter22');
    const conf = readFileSync(path.join(p.simRoot, 'etc/pve/nodes/pve/qemu-server/1001.conf'), 'utf8');
    expect(conf).toMatch(/^cipassword: \S+$/m);
    expect(conf).toContain('sshkeys: ssh-ed25519%20AAAAC3Nza%20op%40desk');
    expect(conf).toMatch(/^scsi0: .*size=32G/m);
    const exec = readFileSync(path.join(p.simRoot, 'sim/guests/1001/exec.jsonl'), 'utf8');
    expect(exec).toContain('qm guest exec');

    writeFileSync(file, text.replace('hunter22', 'hunter23'));
    const plan = p.run(['build', '1001', '--sim', '--dry-run', '--json']);
    expect(plan.stdout).not.toContain('hunter2');
    const steps = (
      JSON.parse(plan.stdout) as { steps: Array<{ target: string; reasons: Array<{ kind: string }> }> }
    ).steps;
    expect(steps.map((s) => s.target)).toEqual(['vm/1001:config']);
    // Not an input of the stamp (F17): judged against the hash Proxmox stores.
    expect(steps[0]!.reasons[0]).toMatchObject({ kind: 'drifted', field: 'cipassword' });
  });
});
