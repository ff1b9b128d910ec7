// Commands inside a VM through its guest agent (`qm guest exec`), on the step's host: the
// argument list, the JSON verdict, and the in-guest steps of preparing a VM template the way
// Proxmox users do it — wait for cloud-init's first boot (the `agent` target), then wipe what
// must be unique per machine before `qm template` (the `template` target), so every clone runs
// cloud-init afresh and gets its own identity.
import type { Vmid } from '../dsl/model.js';
import { err, ok, type Result } from '../runner/types.js';

export interface ExecHost {
  run(cmd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** What the guest command did. */
export interface GuestExit {
  /** False when it was still running at the timeout. */
  exited: boolean;
  exitCode: number;
  out: string;
  err: string;
}

/** `qm guest exec <id> --timeout N [--pass-stdin 1] -- argv…`: the argv stays separate elements. */
export function guestExecArgs(
  vmid: Vmid,
  timeoutS: number | string,
  argv: string[],
  stdin = false,
): string[] {
  const pass = stdin ? ['--pass-stdin', '1'] : [];
  return ['guest', 'exec', String(vmid), '--timeout', String(timeoutS), ...pass, '--', ...argv];
}

/** `qm guest exec` exits 0 whatever the guest command did: the verdict is in its JSON. */
export function parseGuestExec(stdout: string): Result<GuestExit, string> {
  try {
    const j = JSON.parse(stdout || '{}') as {
      exitcode?: number;
      exited?: number;
      'out-data'?: string;
      'err-data'?: string;
    };
    return ok({
      exited: j.exited === 1,
      exitCode: j.exitcode ?? -1,
      out: j['out-data'] ?? '',
      err: j['err-data'] ?? '',
    });
  } catch {
    return err(`unexpected output of qm guest exec: ${stdout.trim().slice(0, 200)}`);
  }
}

/** Runs `argv` in the VM: what the command did, or why Proxmox could not say. */
async function guestExec(
  host: ExecHost,
  vmid: Vmid,
  timeoutS: number,
  argv: string[],
): Promise<Result<GuestExit, string>> {
  const args = guestExecArgs(vmid, timeoutS, argv);
  const r = await host.run('qm', args);
  if (r.exitCode !== 0) return err(`qm ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return parseGuestExec(r.stdout);
}

const text = (x: GuestExit) => `${x.out}${x.err}`.trim();

export const CLOUD_INIT_WAIT = ['cloud-init', 'status', '--wait'];

/**
 * Waits until cloud-init's first boot is over. `cloud-init status --wait` exits 0 when done, 2
 * when done with recoverable errors (cloud-init ≥ 23.4: "degraded done"), 1 on a critical error.
 */
export async function waitCloudInit(
  host: ExecHost,
  vmid: Vmid,
  timeoutS = 900,
): Promise<Result<true, string>> {
  const r = await guestExec(host, vmid, timeoutS, CLOUD_INIT_WAIT);
  if (!r.ok) return r;
  const x = r.value;
  if (!x.exited && x.exitCode === -1)
    return err(text(x) || `cloud-init on VM ${vmid} did not finish within ${timeoutS}s`);
  if (x.exitCode === 0 || x.exitCode === 2) return ok(true);
  return err(`cloud-init on VM ${vmid} failed (exit ${x.exitCode})${text(x) ? `: ${text(x)}` : ''}`);
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

export async function cleanForTemplate(host: ExecHost, vmid: Vmid): Promise<Result<true, string>> {
  const r = await guestExec(host, vmid, 120, TEMPLATE_CLEANUP);
  if (!r.ok) return err(`cleaning VM ${vmid} for a template failed: ${r.error}`);
  if (r.value.exitCode === 0) return ok(true);
  const t = text(r.value);
  return err(`cleaning VM ${vmid} for a template failed (exit ${r.value.exitCode})${t ? `: ${t}` : ''}`);
}
