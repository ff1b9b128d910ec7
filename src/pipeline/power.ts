// `phoenix start|stop|restart`: which guests, in what order, with which Proxmox command — and
// doing it. Order follows service dependencies only: start dependencies first, stop dependents
// first. Templates cannot run and are skipped with a note.
import type { Config, Vmid } from '../dsl/model.js';
import type { Host } from '../pve/host.js';
import type { GuestKind, HostState } from '../pve/state.js';
import { lastLines } from '../targets/common.js';
import { runtimeOrder } from './order.js';

export type PowerVerb = 'start' | 'stop' | 'restart';

export interface PowerStep {
  vmid: Vmid;
  kind: GuestKind;
  name: string;
  /** The Proxmox subcommand (`start`, `shutdown`, `stop`). */
  command: 'start' | 'shutdown' | 'stop';
  /** The node the guest is on, for a config declaring cluster nodes: the command runs there. */
  node?: string;
}

export interface PowerPlan {
  /** In execution order (restart: every stop, then every start). */
  steps: PowerStep[];
  notes: string[];
  /** Asked for, cannot be done (e.g. starting a guest that does not exist). */
  problems: string[];
}

export interface PowerOptions {
  /** Act on the named guests only: do not add dependencies (start) or dependents (stop). */
  only?: boolean;
  /** Stop immediately (`pct stop`/`qm stop`) instead of a clean shutdown. */
  force?: boolean;
}

export function planPower(
  config: Config,
  state: HostState,
  ids: Vmid[],
  verb: PowerVerb,
  opts: PowerOptions = {},
): PowerPlan {
  const all = ids.length === 0;
  const selected = all ? [...config.guests.keys()] : ids;
  const notes: string[] = [];
  const problems: string[] = [];
  const steps: PowerStep[] = [];
  const nameOf = (v: Vmid) => config.guests.get(v)?.name ?? '';
  const stopCmd = opts.force ? 'stop' : 'shutdown';

  const phase = (direction: 'start' | 'stop', only: boolean) => {
    const { order, added } = runtimeOrder(config, selected, direction, only || all);
    for (const a of added)
      notes.push(`${direction === 'start' ? 'also starting' : 'also stopping'} ${a.vmid} (${a.because})`);
    for (const v of order) {
      const gs = state.guests.get(v);
      if (!gs) {
        if (direction === 'start')
          (all ? notes : problems).push(
            `${v} ${nameOf(v)} does not exist on the host (phoenix build ${v} creates it)`,
          );
        else notes.push(`${v} does not exist on the host: nothing to stop`);
        continue;
      }
      if (gs.template) {
        if (!all || direction === 'start') notes.push(`${v} ${nameOf(v)} skipped: a template never runs`);
        continue;
      }
      if (direction === 'start' && gs.status === 'running' && verb === 'start') {
        notes.push(`${v} ${nameOf(v)} is running already`);
        continue;
      }
      if (direction === 'stop' && gs.status === 'stopped') {
        if (verb === 'stop') notes.push(`${v} ${nameOf(v)} is stopped already`);
        continue;
      }
      steps.push({
        vmid: v,
        kind: gs.kind,
        name: nameOf(v),
        command: direction === 'start' ? 'start' : stopCmd,
        ...(config.nodes ? { node: gs.node } : {}),
      });
    }
  };
  if (verb === 'start') phase('start', !!opts.only);
  else if (verb === 'stop') phase('stop', !!opts.only);
  else {
    // A restart acts on the named guests only; the stop half goes dependents first.
    phase('stop', true);
    phase('start', true);
  }
  // Each note once (restart visits a template twice).
  return { steps, notes: [...new Set(notes)], problems };
}

export function describePower(plan: PowerPlan): string[] {
  return plan.steps.map(
    (s) =>
      `${s.kind === 'lxc' ? 'pct' : 'qm'} ${s.command} ${s.vmid}${s.name ? `  (${s.name})` : ''}${s.node ? ` on ${s.node}` : ''}`,
  );
}

export interface PowerOutcome {
  done: PowerStep[];
  failed?: { step: PowerStep; message: string };
}

/** Runs the steps in order, verifying each with `status`; stops at the first failure. */
export async function executePower(
  host: Host,
  plan: PowerPlan,
  log: (line: string) => void,
  /** Runs after each successful start (the health check); an error message stops the run. */
  afterStart: (step: PowerStep) => Promise<string | undefined> = async () => undefined,
): Promise<PowerOutcome> {
  const done: PowerStep[] = [];
  for (const s of plan.steps) {
    const tool = s.kind === 'lxc' ? 'pct' : 'qm';
    const id = String(s.vmid);
    log(`$ ${tool} ${s.command} ${id}`);
    const on = s.node ? host.on(s.node) : host;
    const r = await on.run(tool, [s.command, id], { onLine: (l) => log(`  ${l}`) });
    const st = await on.read(tool, ['status', id]);
    const status = /status:\s*(\w+)/.exec(st.stdout)?.[1] ?? 'unknown';
    const want = s.command === 'start' ? 'running' : 'stopped';
    if (status !== want) {
      const why = r.exitCode !== 0 ? lastLines(r.stderr || r.stdout, 1) : `${tool} status says ${status}`;
      return {
        done,
        failed: {
          step: s,
          message: `${tool} ${s.command} ${id} failed${r.exitCode ? ` (exit ${r.exitCode})` : ''}: ${why}`,
        },
      };
    }
    if (s.command === 'start') {
      const unhealthy = await afterStart(s);
      if (unhealthy) return { done, failed: { step: s, message: unhealthy } };
    }
    done.push(s);
  }
  return { done };
}
