// The I/O edge of half-made guest recovery (the decisions are in half-made.ts): ask Proxmox
// which tasks still run, wait for the ones holding locks of interest, then unlock / destroy /
// forget what the plan says, and hand back the host as it now is.
import type { Config, Vmid } from '../dsl/model.js';
import { birthPath } from '../pve/births.js';
import type { Host } from '../pve/host.js';
import type { HostState } from '../pve/state.js';
import { actionCommand, afterRecovery, needsTaskCheck, planRecovery } from './half-made.js';
import type { Result } from './types.js';

export interface SettleOptions {
  /** Plan only: say what would be done, change nothing, do not wait. */
  dryRun: boolean;
  /** A line for the user (progress display or plain output). */
  say(line: string): void;
  /** Reads the whole host again (after waiting, or after recovering). */
  reread(): Promise<Result<HostState, string>>;
  /** How long to wait for running Proxmox tasks before giving up (ms). */
  waitMs?: number;
  pollMs?: number;
}

const DEFAULT_WAIT_MS = 30 * 60_000;

/**
 * Leaves the host without debris of killed creations among `vmids`, or explains why not
 * (errors are the problems, one per line). Costs nothing when no guest of interest is locked
 * and no birth record is left over: the common case reads nothing more.
 */
export async function settleLocks(
  host: Host,
  config: Config,
  state: HostState,
  vmids: Set<Vmid>,
  opts: SettleOptions,
): Promise<Result<HostState, string[]>> {
  const waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
  const pollMs = opts.pollMs ?? 500;
  const started = Date.now();
  const announced = new Set<string>();
  for (;;) {
    const locked = needsTaskCheck(state, vmids);
    if (!locked && state.births.size === 0) return { ok: true, value: state };
    let tasks: Awaited<ReturnType<Host['activeTasks']>> = { ok: true, value: [] };
    if (locked) {
      // An offline node answers nothing (pvesh proxies /nodes/<n>/tasks to it): its guests are
      // blocked by the scheduler, naming the node.
      const nodes = (state.nodes.length ? state.nodes : [config.node]).filter((n) => !state.offline?.has(n));
      tasks = await host.activeTasks(nodes, new Set([...vmids].map(String)));
      if (!tasks.ok) return { ok: false, error: [`cannot list Proxmox tasks: ${tasks.error}`] };
      // The locks must be seen *after* the tasks: a task that ended between an earlier read and
      // the task list has lifted its locks by now, and must not be taken for debris.
      const fresh = await opts.reread();
      if (!fresh.ok) return { ok: false, error: [fresh.error] };
      state = fresh.value;
    }
    const plan = planRecovery(config, state, vmids, tasks.value, opts.dryRun);

    if (plan.busy.length) {
      for (const t of plan.busy) {
        if (announced.has(t.upid)) continue;
        announced.add(t.upid);
        opts.say(
          opts.dryRun
            ? `Proxmox task ${t.type} on ${t.id} is still running (${t.upid}); a build waits for it first`
            : `waiting for Proxmox task ${t.type} on ${t.id} to finish (${t.upid}) before using the guests it locked`,
        );
      }
      if (opts.dryRun) return { ok: true, value: state };
      if (Date.now() - started > waitMs)
        return {
          ok: false,
          error: plan.busy.map(
            (t) =>
              `Proxmox task ${t.upid} is still running after ${Math.round(waitMs / 1000)} s; try again later`,
          ),
        };
      // The next round lists the tasks, then reads the host again: no read here.
      await new Promise((r) => setTimeout(r, pollMs));
      continue;
    }
    if (plan.problems.length) return { ok: false, error: plan.problems };
    for (const n of plan.notes) opts.say(n);
    if (opts.dryRun) return { ok: true, value: afterRecovery(state, plan.actions) };
    let changedHost = false;
    for (const a of plan.actions) {
      const c = actionCommand(a);
      if (!c) {
        await host.runner.removeFile(birthPath(a.vmid));
        continue;
      }
      // `pct|qm unlock/destroy` act only on the node holding the guest's config.
      const node = state.guests.get(a.vmid)?.node;
      const r = await (node ? host.on(node) : host).run(c.cmd, c.args);
      changedHost = true;
      if (r.exitCode !== 0) {
        const why = r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`;
        return {
          ok: false,
          error: [`recovering ${a.vmid}: \`${c.cmd} ${c.args.join(' ')}\` failed: ${why}`],
        };
      }
    }
    if (!changedHost) return { ok: true, value: afterRecovery(state, plan.actions) };
    const fresh = await opts.reread();
    if (!fresh.ok) return { ok: false, error: [fresh.error] };
    return { ok: true, value: fresh.value };
  }
}
