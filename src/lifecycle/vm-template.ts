// Preparing a VM template from a cloud image the way Proxmox users do it: boot it, wait for the
// guest agent and for cloud-init's first boot to finish, apply features, then wipe what must be
// unique per machine (machine-id, cloud-init's instance state, logs, seed) so every clone runs
// cloud-init afresh and gets its own identity, stop, convert. These are the in-guest steps; the
// engine's targets call them (agent → waitCloudInit, before `qm template` → cleanForTemplate).
import type { Result } from '../dsl/diagnostics.js';
import type { Vmid } from '../dsl/model.js';

export interface ExecHost {
  run(cmd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export type Outcome = Result<void, string>;

/** `qm guest exec` exits 0 whatever the guest command did: the verdict is in its JSON. */
async function guestExec(host: ExecHost, vmid: Vmid, timeoutS: number, argv: string[]) {
  const args = ['guest', 'exec', String(vmid), '--timeout', String(timeoutS), '--', ...argv];
  const r = await host.run('qm', args);
  if (r.exitCode !== 0)
    return {
      exitcode: -1,
      exited: 0,
      text: `qm ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`,
    };
  try {
    const j = JSON.parse(r.stdout || '{}') as {
      exitcode?: number;
      exited?: number;
      'out-data'?: string;
      'err-data'?: string;
    };
    return {
      exitcode: j.exitcode ?? -1,
      exited: j.exited ?? 0,
      text: `${j['out-data'] ?? ''}${j['err-data'] ?? ''}`.trim(),
    };
  } catch {
    return {
      exitcode: -1,
      exited: 0,
      text: `unexpected output of qm guest exec: ${r.stdout.trim().slice(0, 200)}`,
    };
  }
}

export const CLOUD_INIT_WAIT = ['cloud-init', 'status', '--wait'];

/**
 * Waits until cloud-init's first boot is over. `cloud-init status --wait` exits 0 when done, 2
 * when done with recoverable errors (cloud-init ≥ 23.4: "degraded done"), 1 on a critical error.
 */
export async function waitCloudInit(host: ExecHost, vmid: Vmid, timeoutS = 900): Promise<Outcome> {
  const r = await guestExec(host, vmid, timeoutS, CLOUD_INIT_WAIT);
  if (r.exited !== 1 && r.exitcode === -1)
    return { ok: false, error: r.text || `cloud-init on VM ${vmid} did not finish within ${timeoutS}s` };
  if (r.exitcode === 0 || r.exitcode === 2) return { ok: true, value: undefined };
  return {
    ok: false,
    error: `cloud-init on VM ${vmid} failed (exit ${r.exitcode})${r.text ? `: ${r.text}` : ''}`,
  };
}

/**
 * What runs in the guest right before it is shut down for `qm template`: cloud-init forgets this
 * instance (so clones run it again with their own user-data), the machine-id is emptied (systemd
 * makes a new one at a clone's first boot; D-Bus's copy points at it), logs and SSH host keys go.
 */
export const TEMPLATE_CLEANUP = [
  'sh',
  '-c',
  [
    'set -e',
    'cloud-init clean --logs --seed',
    'truncate -s 0 /etc/machine-id',
    'rm -f /var/lib/dbus/machine-id',
    'ln -s /etc/machine-id /var/lib/dbus/machine-id',
    'rm -f /etc/ssh/ssh_host_*',
    'sync',
  ].join('; '),
];

export async function cleanForTemplate(host: ExecHost, vmid: Vmid): Promise<Outcome> {
  const r = await guestExec(host, vmid, 120, TEMPLATE_CLEANUP);
  if (r.exitcode === 0) return { ok: true, value: undefined };
  return {
    ok: false,
    error: `cleaning VM ${vmid} for a template failed (exit ${r.exitcode})${r.text ? `: ${r.text}` : ''}`,
  };
}
