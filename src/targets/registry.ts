// Expands the declared guests into targets and wires the edges between them. One module per
// target kind; this file only decides which targets a guest gets and in what order, so adding a
// kind means writing its module and one line here.
import type { Config, Guest } from '../dsl/model.js';
import { hostDirsTarget } from '../lifecycle/hostdirs-target.js';
import type { Target } from '../runner/types.js';
import { targetId } from '../runner/types.js';
import { kindOf } from './common.js';
import { existsTarget } from './exists.js';
import { healthTarget } from './health.js';
import { lxcConfigTarget } from './lxc-config.js';
import { lxcIdmapTarget } from './lxc-idmap.js';
import { lxcStorageTarget } from './lxc-storage.js';
import { withNodeTarget } from './placement.js';
import { appTarget, featureTarget, vmVolumesTarget } from './provision.js';
import { runningTarget } from './running.js';
import { snapshotTarget } from './snapshot.js';
import { templateTarget } from './template.js';
import { vmAgentTarget } from './vm-agent.js';
import { vmConfigTarget } from './vm-config.js';
import { vmDiskTarget } from './vm-disk.js';

export interface Expansion {
  targets: Target[];
  warnings: string[];
}

function expandGuest(g: Guest, warnings: string[]): Target[] {
  const kind = kindOf(g);
  const id = (name: string) => targetId(kind, g.vmid, name);
  const out: Target[] = [existsTarget(g)];
  let last: string;
  if (g.kind === 'lxc') {
    out.push(lxcConfigTarget(g));
    if (g.idmap.length) out.push(lxcIdmapTarget(g));
    const storage = lxcStorageTarget(g);
    // Lifecycle (issue 6): bind-mount host folders exist with their owners before mounts attach.
    const dirs = hostDirsTarget(g, [...storage.deps]);
    if (dirs) {
      out.push(dirs);
      storage.deps.push(dirs.id);
    }
    out.push(storage);
    last = id('storage');
  } else {
    out.push(vmConfigTarget(g));
    last = id('config');
    if (g.diskGb !== undefined) {
      out.push(vmDiskTarget(g));
      last = id('disk');
    }
  }
  const provisions =
    g.features.length > 0 || g.app !== undefined || (g.kind === 'vm' && g.nfsVolumes.length > 0);
  // A VM template made from a cloud image boots once before it is converted: cloud-init's first
  // boot finishes, then machine-id and cloud-init state are wiped (template.ts), so every clone
  // gets its own identity (lifecycle issue 6 item 6).
  const bootsForTemplate = g.kind === 'vm' && g.template && g.cloneFrom === undefined && g.agent;
  const snapshots = g.template ? [] : g.snapshots;
  if (g.template && g.snapshots.length) {
    warnings.push(
      `guest ${g.vmid}: snapshots ${g.snapshots.map((s) => s.name).join(', ')} are not taken: Proxmox cannot convert a guest with snapshots to a template`,
    );
  }
  const snapsAfter = (stage: 'config' | 'features' | 'app') =>
    snapshots.filter((s) => s.after === stage).map((s) => id(`snapshot:${s.name}`));

  if (!g.template || provisions || bootsForTemplate) {
    out.push(runningTarget(g, last));
    last = id('running');
  }
  // After `running`, which applies what a running guest keeps pending: a mount point deleted on
  // a running CT stays in its config until the restart (pve-container LXC/Config.pm:1657-1700),
  // and a snapshot refuses a config that still holds a bind mount.
  for (const s of snapshots.filter((x) => x.after === 'config')) out.push(snapshotTarget(g, s, [last]));
  let prov = [last, ...snapsAfter('config')];
  if (g.kind === 'vm' && (provisions || bootsForTemplate)) {
    if (!g.agent) warnings.push(`guest ${g.vmid}: provisioning a VM needs the guest agent (agent: true)`);
    out.push(vmAgentTarget(g));
    prov = [id('agent'), ...snapsAfter('config')];
    const volumes = vmVolumesTarget(g, prov);
    if (volumes) {
      out.push(volumes);
      prov = [volumes.id];
    }
  }
  for (const f of g.features) {
    const t = featureTarget(g, f, prov);
    out.push(t);
    prov = [t.id];
  }
  for (const s of snapshots.filter((x) => x.after === 'features')) out.push(snapshotTarget(g, s, prov));
  const app = appTarget(g, [...prov, ...snapsAfter('features')]);
  if (app) {
    out.push(app);
    prov = [app.id];
  }
  for (const s of snapshots.filter((x) => x.after === 'app'))
    out.push(snapshotTarget(g, s, app ? [app.id] : prov));
  if (g.template) {
    out.push(
      templateTarget(
        g,
        out.map((t) => t.id).filter((t) => t !== id('running')),
      ),
    );
  }
  // Lifecycle (issue 6): the declared health check gates the guest's dependents.
  const health = healthTarget(g, finals(out));
  if (health) out.push(health);
  // Cluster (issue 15): the guest is moved to its declared node before anything else of it runs.
  return withNodeTarget(g, out);
}

/** The targets of a guest nothing else of that guest waits for: "the guest is built". */
export function finals(targets: Target[]): string[] {
  const needed = new Set(targets.flatMap((t) => t.deps));
  return targets.filter((t) => !needed.has(t.id)).map((t) => t.id);
}

/**
 * What a clone's `exists` waits for: the clone copies its source as it is at that moment (or as
 * the named snapshot holds it), so the source must first be what the config declares. A
 * template: converted (`template`, after all its work). A snapshot (`--snapname`): that snapshot
 * taken. Any other source: its whole build.
 */
function cloneSourceDeps(g: Guest, src: Guest, srcTargets: Target[]): string[] {
  const kind = kindOf(src);
  if (src.template) return [targetId(kind, src.vmid, 'template')];
  if (g.cloneSnapshot !== undefined) {
    const snap = targetId(kind, src.vmid, `snapshot:${g.cloneSnapshot}`);
    if (srcTargets.some((t) => t.id === snap)) return [snap];
  }
  return finals(srcTargets);
}

export function expandConfig(config: Config): Expansion {
  const warnings: string[] = [];
  const perGuest = new Map<number, Target[]>();
  for (const g of config.guests.values()) perGuest.set(g.vmid, expandGuest(g, warnings));

  for (const g of config.guests.values()) {
    const targets = perGuest.get(g.vmid)!;
    if (g.cloneFrom !== undefined) {
      const src = config.guests.get(g.cloneFrom);
      if (src) targets[0]!.deps.push(...cloneSourceDeps(g, src, perGuest.get(src.vmid) ?? []));
    }
    if (g.dependsOn.length) {
      const depFinals = g.dependsOn.flatMap((d) => {
        const t = perGuest.get(d);
        return t ? finals(t) : [];
      });
      // Service dependencies hold back provisioning only: creation and configuration overlap.
      for (const t of targets) {
        const firstProvision =
          (t.name.startsWith('feature:') || t.name === 'app' || t.name === 'volumes') &&
          !t.deps.some((d) => {
            const dt = targets.find((x) => x.id === d);
            return dt && (dt.name.startsWith('feature:') || dt.name === 'volumes');
          });
        if (firstProvision) t.deps.push(...depFinals);
      }
    }
  }
  return { targets: [...perGuest.values()].flat(), warnings };
}
