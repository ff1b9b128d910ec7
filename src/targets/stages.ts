// The stages of a guest's build, as the target kinds name what they wait for: created, configured,
// up (running), provisioned (features, app), converted to a template, healthy. Snapshots are taken
// after a stage (`after: 'config' | 'features' | 'app'`).
import type { Guest, SnapshotDecl } from '../dsl/model.js';
import type { Made } from './define.js';

/** Features, an app or (a VM's) NFS volumes: work done inside the guest. */
export const provisions = (g: Guest): boolean =>
  g.features.length > 0 || g.app !== undefined || (g.kind === 'vm' && g.nfsVolumes.length > 0);

/**
 * A VM template made from a cloud image boots once before it is converted: cloud-init's first
 * boot finishes, then machine-id and cloud-init state are wiped (template.ts), so every clone
 * gets its own identity.
 */
export const bootsForTemplate = (g: Guest): boolean =>
  g.kind === 'vm' && g.template && g.cloneFrom === undefined && g.agent;

/** The snapshots taken after `stage` (none on a template: Proxmox cannot convert a guest with snapshots). */
export function snapshotsAfter(g: Guest, stage: SnapshotDecl['after']): SnapshotDecl[] {
  return g.template ? [] : g.snapshots.filter((s) => s.after === stage);
}

export const snapshotNames = (g: Guest, stage: SnapshotDecl['after']): string[] =>
  snapshotsAfter(g, stage).map((s) => `snapshot:${s.name}`);

/** The guest's last configuration target: `storage` (CT), `disk` or `config` (VM). */
export const configured = (made: Made): string[] => made.first('storage', 'disk', 'config');

/** The guest up: `running` when it is started in the build, else configured. */
export const up = (made: Made): string[] => made.first('running', 'storage', 'disk', 'config');

/**
 * What the next provisioning step waits for: the one before it, else the guest up (for a VM its
 * guest agent) with the snapshots taken after its configuration.
 */
export function provisioned(g: Guest, made: Made): string[] {
  const previous = made.latest('feature:') ?? made.latest('volumes');
  if (previous) return [previous];
  return [...made.first('agent', 'running', 'storage', 'disk', 'config'), ...snapshotNames(g, 'config')];
}
