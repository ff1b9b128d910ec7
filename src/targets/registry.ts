// Expands the declared guests into targets and wires the edges between them. A target kind is
// one module (`defineTarget`, define.ts) and one line in TARGET_KINDS below; this file adds only
// the edges between guests (clone sources, service dependencies).
import type { Config, Guest } from '../dsl/model.js';
import type { Target, TargetId } from '../runner/types.js';
import { targetId } from '../runner/types.js';
import { kindOf } from './common.js';
import { finals, Made, type TargetKind } from './define.js';
import { exists } from './exists.js';
import { health } from './health.js';
import { hostDirs } from './hostdirs.js';
import { lxcConfig } from './lxc-config.js';
import { lxcIdmap } from './lxc-idmap.js';
import { lxcStorage } from './lxc-storage.js';
import { node } from './node.js';
import { app, feature, vmVolumes } from './provision.js';
import { running } from './running.js';
import { snapshotsTakenAfter } from './snapshot.js';
import { template } from './template.js';
import { vmAgent } from './vm-agent.js';
import { vmConfig } from './vm-config.js';
import { vmDisk } from './vm-disk.js';

/**
 * Every target kind, in the order a guest's targets are made: each kind's `needs` names targets
 * of the guest made before it. Snapshots are listed once per stage, right after it.
 */
export const TARGET_KINDS: readonly TargetKind[] = [
  exists,
  node,
  lxcConfig,
  lxcIdmap,
  hostDirs,
  lxcStorage,
  vmConfig,
  vmDisk,
  running,
  snapshotsTakenAfter('config'),
  vmAgent,
  vmVolumes,
  feature,
  snapshotsTakenAfter('features'),
  app,
  snapshotsTakenAfter('app'),
  template,
  health,
];

export interface Expansion {
  targets: Target[];
  warnings: string[];
}

/** A guest's own targets, with the edges between them. */
export function expandGuest(g: Guest, warnings: string[] = []): Target[] {
  const out: Target[] = [];
  for (const k of TARGET_KINDS) out.push(...k.expand(g, new Made(out), warnings));
  return out;
}

/** Problems of the config some kind cannot build (two guests wanting one host folder's owner...). */
export function preflightProblems(config: Config): string[] {
  return TARGET_KINDS.flatMap((k) => k.preflight(config));
}

/**
 * What a clone's `exists` waits for: the clone copies its source as it is at that moment (or as
 * the named snapshot holds it), so the source must first be what the config declares. A
 * template: converted (`template`, after all its work). A snapshot (`--snapname`): that snapshot
 * taken. Any other source: its whole build.
 */
function cloneSourceDeps(g: Guest, src: Guest, srcTargets: Target[]): TargetId[] {
  const kind = kindOf(src);
  if (src.template) return [targetId(kind, src.vmid, 'template')];
  if (g.cloneSnapshot !== undefined) {
    const snap = targetId(kind, src.vmid, `snapshot:${g.cloneSnapshot}`);
    if (srcTargets.some((t) => t.id === snap)) return [snap];
  }
  return finals(srcTargets);
}

const PROVISIONING = new Set(TARGET_KINDS.filter((k) => k.provisioning).map((k) => k.kind));
/** A target of a provisioning kind (`feature:docker` is of kind `feature`). */
const provisioning = (t: Target) => PROVISIONING.has(t.name.split(':')[0]!);

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
        const first =
          provisioning(t) && !t.deps.some((d) => targets.some((x) => x.id === d && provisioning(x)));
        if (first) t.deps.push(...depFinals);
      }
    }
  }
  return { targets: [...perGuest.values()].flat(), warnings };
}
