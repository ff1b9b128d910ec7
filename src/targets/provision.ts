// Provisioning targets: `feature:<name>` (a declared feature script), `app` (the guest's
// application script) and, for VMs, `volumes` (NFS mounts). Their output cannot be observed
// from the host, only known from the stamp: it ran with these inputs. Both kinds hand the script
// to `bash -s` on stdin, one host call per script: LXC through `pct exec`, VM through the guest
// agent (`qm guest exec --pass-stdin`).
import { readFile } from 'node:fs/promises';
import type { AppDecl, Guest, VmGuest } from '../dsl/model.js';
import { shellQuote } from '../pve/quote.js';
import type { Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import { must, showCommand } from './common.js';
import { defineTarget } from './define.js';
import { guestExecArgs, parseGuestExec } from './guest-exec.js';
import { provisioned, snapshotNames } from './stages.js';

/** `qm guest exec --pass-stdin` takes at most 1 MiB; a CT script is held to the same size. */
const MAX_SCRIPT_BYTES = 1024 * 1024;

/** The guest argv that runs a script read from stdin: its arguments stay separate argv elements. */
export function stdinBash(args: readonly string[]): string[] {
  return ['bash', '-s', '--', ...args];
}

// Judged by the stamp alone. For a guest still to be cloned the context carries its source's
// stamps, so work the template already did is predicted as done.
function observe(_ctx: TargetContext): Observation {
  return { kind: 'ok' };
}

/** A converted template cannot be started, so its provisioning can only be redone by rebuilding it. */
function effectOf(ctx: TargetContext) {
  return ctx.gs?.template ? ('replace' as const) : ('update' as const);
}

async function runScript(
  ctx: StepContext,
  name: string,
  script: { local: string; content: string },
  args: string[],
) {
  const g = ctx.guest;
  const id = String(g.vmid);
  if (ctx.gs?.template) {
    throw new StepError(
      `${g.vmid} is already a template: its ${name} can only be redone by rebuilding the template`,
    );
  }
  if (Buffer.byteLength(script.content) > MAX_SCRIPT_BYTES) {
    throw new StepError(`${script.local} is over 1 MiB: scripts reach the guest on stdin, at most 1 MiB`);
  }
  if (g.kind === 'lxc') {
    // lxc-attach hands pct's stdin to the command (pve-container src/PVE/CLI/pct.pm:238-255), so
    // `bash -s` reads the script from it: no file in the guest (no stale copy a clone inherited
    // from its template can ever run), no `mkdir`/`pct push` (which exits 0 even when the copy
    // failed, pct.pm:694-800). The runner adds `--keep-env 0` (a clean environment).
    await must(ctx, 'pct', ['exec', id, '--', ...stdinBash(args)], script.content);
    return;
  }
  const timeout = String(ctx.limits.guestExecTimeoutS);
  // The script goes to bash on stdin (`--pass-stdin`, max 1 MiB): its text never appears in
  // a command line (process lists, logs, ARG_MAX); the arguments stay separate argv elements.
  const cmdArgs = guestExecArgs(g.vmid, timeout, stdinBash(args), true);
  const r = await must(ctx, 'qm', cmdArgs, script.content);
  const parsed = parseGuestExec(r.stdout);
  if (!parsed.ok) throw new StepError(`qm guest exec ${id}: ${parsed.error}`);
  const out = parsed.value;
  for (const line of out.out.split('\n')) if (line.trim()) ctx.log(line);
  if (!out.exited)
    throw new StepError(`${name} on VM ${id} did not finish within ${timeout}s`, undefined, undefined, {
      kind: 'timeout',
    });
  if (out.exitCode !== 0) {
    throw new StepError(
      `${name} on VM ${id} exited with ${out.exitCode}`,
      showCommand('qm', cmdArgs),
      out.err,
    );
  }
}

async function loadScript(ctx: StepContext, relative: string) {
  const local = ctx.host.scriptPath(relative);
  try {
    return { local, content: await readFile(local, 'utf8') };
  } catch {
    throw new StepError(`script ${relative} not found (${local})`);
  }
}

const featureDecl = (ctx: TargetContext, feature: string) => ctx.config.features[feature];
const featureArgs = (ctx: TargetContext, feature: string) => [
  ...(ctx.guest.featureArgs ?? []),
  ...(featureDecl(ctx, feature)?.args ?? []),
];

/** What provisioning shares: stamp-judged, redone only by rebuilding a converted template. */
const provisioning = { provisioning: true, stamp: 'required', observe, judge: effectOf } as const;

export const feature = defineTarget<Guest, string>({
  kind: 'feature',
  each: (g) => g.features,
  name: (f) => f,
  // Service dependencies (`dependsOn`, another guest's) are added by the registry.
  needs: (g, made) => provisioned(g, made),
  ...provisioning,
  // Nothing guest-specific: a clone inherits the stamp of work its template already did.
  inputs: (ctx, f) => ({ feature: f, script: featureDecl(ctx, f)?.script, args: featureArgs(ctx, f) }),
  scripts: (ctx, f) => {
    const s = featureDecl(ctx, f)?.script;
    return s ? [s] : [];
  },
  describe: (ctx, _obs, f) => {
    const g = ctx.guest;
    const args = featureArgs(ctx, f);
    return g.kind === 'lxc'
      ? `pct exec ${g.vmid} -- bash -s${args.length ? ` -- ${args.join(' ')}` : ''} < ${featureDecl(ctx, f)?.script}`
      : `qm guest exec ${g.vmid} --pass-stdin 1 -- bash -s < ${featureDecl(ctx, f)?.script}`;
  },
  apply: async (ctx, f) => {
    const d = featureDecl(ctx, f);
    if (!d) throw new StepError(`feature '${f}' is not declared`);
    await runScript(ctx, `feature:${f}`, await loadScript(ctx, d.script), featureArgs(ctx, f));
    return { changed: true };
  },
});

export const app = defineTarget<Guest, AppDecl>({
  kind: 'app',
  // One, named `app`: the guest's declared application script.
  each: (g) => (g.app ? [g.app] : []),
  needs: (g, made) => [...provisioned(g, made), ...snapshotNames(g, 'features')],
  ...provisioning,
  inputs: (_ctx, app) => ({ script: app.script, args: app.args ?? [] }),
  scripts: (_ctx, app) => [app.script],
  describe: ({ guest: g }, _obs, app) => `run ${app.script} in ${g.vmid}`,
  apply: async (ctx, app) => {
    await runScript(ctx, 'app', await loadScript(ctx, app.script), app.args ?? []);
    return { changed: true };
  },
});

/** The mount script for NFS volumes, generated from the declaration (its text is the input). */
export function nfsScript(g: VmGuest): string {
  const lines = [
    'set -eu',
    'command -v mount.nfs >/dev/null || { apt-get update -q && apt-get install -y -q nfs-common; }',
  ];
  // Every declared value is one shell word (quoted), never pasted into shell text.
  for (const v of g.nfsVolumes) {
    const src = `${v.server}:${v.export}`;
    const entry = `${src} ${v.mountPoint} nfs ${v.options ?? 'defaults,_netdev'} 0 0`;
    lines.push(`mkdir -p -- ${shellQuote(v.mountPoint)}`);
    lines.push(
      `grep -qF -- ${shellQuote(`${src} ${v.mountPoint} `)} /etc/fstab || printf '%s\\n' ${shellQuote(entry)} >> /etc/fstab`,
    );
  }
  lines.push('mount -a');
  return `${lines.join('\n')}\n`;
}

export const vmVolumes = defineTarget<VmGuest>({
  kind: 'volumes',
  guest: 'vm',
  when: (g) => g.nfsVolumes.length > 0,
  needs: (g, made) => provisioned(g, made),
  ...provisioning,
  inputs: ({ guest: g }) => ({ nfs: g.nfsVolumes }),
  describe: ({ guest: g }) =>
    `mount ${g.nfsVolumes.map((v) => v.mountPoint).join(', ')} in VM ${g.vmid} (qm guest exec)`,
  apply: async (ctx) => {
    await runScript(ctx, 'volumes', { local: '(generated)', content: nfsScript(ctx.guest) }, []);
    return { changed: true };
  },
});
