// Provisioning targets: `feature:<name>` (a declared feature script), `app` (the guest's
// application script) and, for VMs, `volumes` (NFS mounts). Their output cannot be observed
// from the host, only known from the stamp: it ran with these inputs. Both kinds hand the script
// to `bash -s` on stdin, one host call per script: LXC through `pct exec`, VM through the guest
// agent (`qm guest exec --pass-stdin`).
import { readFile } from 'node:fs/promises';
import type { Guest, VmGuest } from '../dsl/model.js';
import { shellQuote } from '../pve/quote.js';
import type { Observation, StepContext, Target, TargetContext, TargetId } from '../runner/types.js';
import { StepError, targetId } from '../runner/types.js';
import { kindOf, lastLines, must, showCommand } from './common.js';

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
  const cmdArgs = [
    'guest',
    'exec',
    id,
    '--timeout',
    timeout,
    // The script goes to bash on stdin (`--pass-stdin`, max 1 MiB): its text never appears in
    // a command line (process lists, logs, ARG_MAX); the arguments stay separate argv elements.
    '--pass-stdin',
    '1',
    '--',
    ...stdinBash(args),
  ];
  const r = await must(ctx, 'qm', cmdArgs, script.content);
  // `qm guest exec` exits 0 whatever the guest command did: the verdict is in the JSON.
  let out: { exitcode?: number; exited?: number; 'err-data'?: string; 'out-data'?: string } = {};
  try {
    out = JSON.parse(r.stdout || '{}') as typeof out;
  } catch {
    throw new StepError(`qm guest exec ${id}: unexpected output: ${lastLines(r.stdout, 2)}`);
  }
  for (const line of (out['out-data'] ?? '').split('\n')) if (line.trim()) ctx.log(line);
  if (out.exited !== 1)
    throw new StepError(`${name} on VM ${id} did not finish within ${timeout}s`, undefined, undefined, {
      kind: 'timeout',
    });
  if (out.exitcode !== 0) {
    throw new StepError(
      `${name} on VM ${id} exited with ${out.exitcode}`,
      showCommand('qm', cmdArgs),
      out['err-data'] ?? '',
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

export function featureTarget(g: Guest, feature: string, deps: TargetId[]): Target {
  const kind = kindOf(g);
  const name = `feature:${feature}`;
  const decl = (ctx: TargetContext) => ctx.config.features[feature];
  const args = (ctx: TargetContext) => [...(g.featureArgs ?? []), ...(decl(ctx)?.args ?? [])];
  return {
    id: targetId(kind, g.vmid, name),
    guest: g.vmid,
    kind,
    name,
    deps,
    stamp: 'required',
    // Nothing guest-specific: a clone inherits the stamp of work its template already did.
    inputs: (ctx) => ({ feature, script: decl(ctx)?.script, args: args(ctx) }),
    scripts: (ctx) => {
      const s = decl(ctx)?.script;
      return s ? [s] : [];
    },
    observe,
    effect: effectOf,
    describe: (ctx) =>
      g.kind === 'lxc'
        ? `pct exec ${g.vmid} -- bash -s${args(ctx).length ? ` -- ${args(ctx).join(' ')}` : ''} < ${decl(ctx)?.script}`
        : `qm guest exec ${g.vmid} --pass-stdin 1 -- bash -s < ${decl(ctx)?.script}`,
    locks: () => [`guest:${g.vmid}`],
    run: async (ctx) => {
      const d = decl(ctx);
      if (!d) throw new StepError(`feature '${feature}' is not declared`);
      await runScript(ctx, name, await loadScript(ctx, d.script), args(ctx));
      return { changed: true };
    },
  };
}

export function appTarget(g: Guest, deps: TargetId[]): Target | undefined {
  const app = g.app;
  if (!app) return undefined;
  const kind = kindOf(g);
  return {
    id: targetId(kind, g.vmid, 'app'),
    guest: g.vmid,
    kind,
    name: 'app',
    deps,
    stamp: 'required',
    inputs: () => ({ script: app.script, args: app.args ?? [] }),
    scripts: () => [app.script],
    observe,
    effect: effectOf,
    describe: () => `run ${app.script} in ${g.vmid}`,
    locks: () => [`guest:${g.vmid}`],
    run: async (ctx) => {
      await runScript(ctx, 'app', await loadScript(ctx, app.script), app.args ?? []);
      return { changed: true };
    },
  };
}

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

export function vmVolumesTarget(g: VmGuest, deps: TargetId[]): Target | undefined {
  if (!g.nfsVolumes.length) return undefined;
  return {
    id: targetId('vm', g.vmid, 'volumes'),
    guest: g.vmid,
    kind: 'vm',
    name: 'volumes',
    deps,
    stamp: 'required',
    inputs: () => ({ nfs: g.nfsVolumes }),
    scripts: () => [],
    observe,
    effect: effectOf,
    describe: () =>
      `mount ${g.nfsVolumes.map((v) => v.mountPoint).join(', ')} in VM ${g.vmid} (qm guest exec)`,
    locks: () => [`guest:${g.vmid}`],
    run: async (ctx) => {
      await runScript(ctx, 'volumes', { local: '(generated)', content: nfsScript(g) }, []);
      return { changed: true };
    },
  };
}
