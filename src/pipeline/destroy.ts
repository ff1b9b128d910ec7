// `phoenix destroy`: what destroying a set of guests means (plan, pure) and doing it (execute,
// through the host interface). Clones go before their sources; a guest others are cloned from
// is only destroyed together with them; a running guest is stopped first; every destroy purges
// the guest from backup/replication/HA jobs and is verified by re-reading the host.
import type { Config, Vmid } from '../dsl/model.js';
import { confPath, type Host } from '../pve/host.js';
import type { GuestKind, HostState } from '../pve/state.js';
import { describeLoss, type Loss, linkedClonesOnHost, lossOf } from '../pve/volumes.js';
import { lastLines } from '../targets/common.js';
import { destroyOrder } from './order.js';

export interface DestroyItem {
  vmid: Vmid;
  kind: GuestKind;
  name: string;
  declared: boolean;
  running: boolean;
  template: boolean;
  node: string;
  loss: Loss;
}

export interface DestroyPlan {
  /** In the order they will be destroyed. */
  items: DestroyItem[];
  /** Asked for, but not on the host. */
  absent: Vmid[];
  /** Reasons the destroy must not start (nothing is touched when there is one). */
  problems: string[];
  notes: string[];
}

const word = (kind: GuestKind) => (kind === 'lxc' ? 'CT' : 'VM');
const list = (ids: Vmid[]) => ids.join(', ');

/** The guests each guest was cloned from: declared `cloneFrom`, and linked-clone evidence on the host. */
function sourcesOf(config: Config, state: HostState, vmid: Vmid): Vmid[] {
  const out = new Set<Vmid>();
  const src = config.guests.get(vmid)?.cloneFrom;
  if (src !== undefined) out.add(src);
  for (const t of state.guests.values())
    if (t.template && linkedClonesOnHost(state, t.vmid).includes(vmid)) out.add(t.vmid);
  return [...out];
}

export function planDestroy(
  config: Config,
  state: HostState,
  ids: Vmid[],
  opts: { yes: boolean; configName: string },
): DestroyPlan {
  const problems: string[] = [];
  const notes: string[] = [];
  const absent: Vmid[] = [];
  const present: Vmid[] = [];
  for (const id of [...new Set(ids)]) {
    if (state.guests.has(id)) present.push(id);
    else absent.push(id);
  }
  const selected = new Set(present);
  for (const id of present) {
    const gs = state.guests.get(id)!;
    const decl = config.guests.get(id);
    if (!decl && !opts.yes) {
      problems.push(
        `guest ${id} is not declared in ${opts.configName}: pass --yes to destroy it anyway (named explicitly, it is the only way an undeclared guest is destroyed)`,
      );
    }
    if (gs.lock) {
      problems.push(
        `${word(gs.kind)} ${id} is locked (${gs.lock}): a task runs on it or died half-way; once you know it is gone, run '${gs.kind === 'lxc' ? 'pct' : 'qm'} unlock ${id}'`,
      );
    }
    const linked = linkedClonesOnHost(state, id);
    const declaredClones = [...config.guests.values()]
      .filter((g) => g.cloneFrom === id && state.guests.has(g.vmid))
      .map((g) => g.vmid);
    const linkedLeft = linked.filter((c) => !selected.has(c));
    const declaredLeft = declaredClones.filter((c) => !selected.has(c) && !linked.includes(c));
    if (gs.template && (linkedLeft.length || (declaredLeft.length && !linked.length))) {
      const left = [...new Set([...linkedLeft, ...declaredLeft])].sort((a, b) => a - b);
      problems.push(
        `guest ${id} is a template with linked clones ${list(left)}: Proxmox refuses to free a base volume still in use; destroy ${left.length === 1 ? 'it' : 'them'} in the same call (phoenix destroy ${[id, ...left].join(' ')})`,
      );
    } else if (linkedLeft.length || declaredLeft.length) {
      const left = [...new Set([...linkedLeft, ...declaredLeft])].sort((a, b) => a - b);
      problems.push(
        `guest ${id} is the clone source of ${list(left)} (cloneFrom): destroy ${left.length === 1 ? 'it' : 'them'} in the same call, or change their cloneFrom first`,
      );
    }
    for (const g of config.guests.values()) {
      if (g.dependsOn.includes(id) && !selected.has(g.vmid) && state.guests.has(g.vmid))
        notes.push(`${g.vmid} depends on ${id} (dependsOn) and stays; it loses that service`);
    }
    if (decl) notes.push(`${id} is still declared in ${opts.configName}: the next build creates it again`);
  }
  for (const id of absent) notes.push(`guest ${id} does not exist on the host: nothing to destroy`);
  const order = destroyOrder(present, (v) => sourcesOf(config, state, v));
  const items = order.map((id): DestroyItem => {
    const gs = state.guests.get(id)!;
    const decl = config.guests.get(id);
    const name = gs.current.props.hostname ?? gs.current.props.name ?? decl?.name ?? '';
    return {
      vmid: id,
      kind: gs.kind,
      name,
      declared: decl !== undefined,
      running: gs.status === 'running',
      template: gs.template,
      node: gs.node,
      loss: lossOf(gs),
    };
  });
  return { items, absent, problems, notes };
}

/** The plan as the lines a user reads before confirming. */
export function describeDestroy(plan: DestroyPlan): string[] {
  const out: string[] = [];
  for (const it of plan.items) {
    const tool = it.kind === 'lxc' ? 'pct' : 'qm';
    const what = `${it.kind}${it.template ? ' template' : ''}${it.running ? ', running' : ''}`;
    const steps = [...(it.running ? [`${tool} stop ${it.vmid}`] : []), `${tool} destroy ${it.vmid} --purge`];
    out.push(`destroy ${it.vmid} ${it.name} (${what}): ${steps.join('; ')}`);
    const lost = describeLoss(it.loss);
    out.push(`  loses: ${lost.length ? lost.join('; ') : 'no volumes'}`);
    if (it.loss.keptFolders.length) out.push(`  keeps host folders: ${it.loss.keptFolders.join(', ')}`);
  }
  return out;
}

export interface DestroyOutcome {
  destroyed: Vmid[];
  failed?: { vmid: Vmid; message: string };
}

/**
 * Destroys the planned guests in order and stops at the first failure (later ones may be the
 * sources of earlier ones). Each destroy is verified: the config file must be gone.
 */
export async function executeDestroy(
  host: Host,
  plan: DestroyPlan,
  log: (line: string) => void,
): Promise<DestroyOutcome> {
  const destroyed: Vmid[] = [];
  for (const it of plan.items) {
    const tool = it.kind === 'lxc' ? 'pct' : 'qm';
    const id = String(it.vmid);
    const step = async (args: string[]): Promise<string | undefined> => {
      log(`$ ${tool} ${args.join(' ')}`);
      // A cluster: pct/qm act only on the node that holds the guest.
      const r = await host.on(it.node).run(tool, args, { onLine: (l) => log(`  ${l}`) });
      if (r.exitCode === 0) return undefined;
      return `${tool} ${args.join(' ')} failed (exit ${r.exitCode}): ${lastLines(r.stderr || r.stdout, 1)}`;
    };
    if (it.running) {
      // `pct stop` of a CT that stopped meanwhile fails with `CT <id> not running`: not a problem.
      const error = await step(['stop', id]);
      if (error && !/not running/.test(error))
        return { destroyed, failed: { vmid: it.vmid, message: error } };
    }
    const error = await step(['destroy', id, '--purge']);
    const left = await host.on(it.node).runner.readFile(confPath(it.node, it.kind, it.vmid));
    if (error || left !== undefined) {
      return {
        destroyed,
        failed: {
          vmid: it.vmid,
          message: error ?? `${tool} destroy ${id} returned, but the guest's config is still there`,
        },
      };
    }
    destroyed.push(it.vmid);
  }
  return { destroyed };
}
