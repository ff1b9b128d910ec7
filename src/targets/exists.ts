// `exists`: the guest is defined on the host — created from an OS template (LXC) or a cloud
// image (VM: one `qm create` importing the disk and adding the cloud-init drive), or cloned
// from its source.
// Creation inputs cannot change in place: a changed one plans a `replace`.
import { hostname } from 'node:os';
import type { Guest, LxcGuest, VmGuest } from '../dsl/model.js';
import { type BirthRecord, withBirthRecord } from '../pve/births.js';
import { descriptionOf, type GuestState } from '../pve/state.js';
import { describeLoss, lossOf } from '../pve/volumes.js';
import {
  cloneSnapshotStage,
  heldAtSnapshot,
  readStamps,
  sourceIdentity,
  splitDescription,
  writeStamps,
} from '../runner/stamps.js';
import {
  type Drift,
  type Observation,
  type StepContext,
  StepError,
  type TargetContext,
} from '../runner/types.js';
import { isLxc, kindOf, must, nodeOf, reread, showCommand, sourceGuest, tool } from './common.js';
import { defineTarget } from './define.js';
import { lxcCreateOptions } from './lxc-config.js';
import {
  clonePlacement,
  onNodeCtx,
  placeable,
  placeClone,
  placementArgs,
  placementNote,
} from './placement.js';
import { vmNetString } from './vm-config.js';

function creationInputs(g: Guest): unknown {
  if (isLxc(g)) {
    return g.cloneFrom !== undefined
      ? {
          kind: 'lxc',
          cloneFrom: g.cloneFrom,
          unprivileged: g.unprivileged,
          ...(g.cloneSnapshot !== undefined && { cloneSnapshot: g.cloneSnapshot }),
        }
      : {
          kind: 'lxc',
          ostemplate: g.ostemplate,
          unprivileged: g.unprivileged,
          rootfsStorage: g.rootfs.storage,
        };
  }
  return g.cloneFrom !== undefined
    ? {
        kind: 'vm',
        cloneFrom: g.cloneFrom,
        ...(g.cloneSnapshot !== undefined && { cloneSnapshot: g.cloneSnapshot }),
      }
    : { kind: 'vm', image: g.image, storage: g.storage };
}

function observe(ctx: TargetContext): Observation {
  const gs = ctx.gs;
  const g = ctx.guest;
  if (!gs) return { kind: 'missing', detail: `${g.kind === 'lxc' ? 'CT' : 'VM'} ${g.vmid} does not exist` };
  // Earlier versions made a VM from an image in three calls (create, disk import, cloud-init
  // drive): a VM Phoenix created (its own birth stamp) but left without a boot disk is half-made.
  if (
    g.kind === 'vm' &&
    gs.kind === 'vm' &&
    g.cloneFrom === undefined &&
    !gs.template &&
    gs.current.props.scsi0 === undefined &&
    readStamps(descriptionOf(gs), g.vmid).by === g.vmid
  ) {
    return {
      kind: 'missing',
      detail: `half-made: VM ${g.vmid} has no boot disk (its disk import did not finish)`,
    };
  }
  const drifts: Drift[] = [];
  if (gs.kind !== kindOf(g)) {
    drifts.push({ field: 'kind', host: gs.kind, declared: kindOf(g), needsReplace: true });
  }
  if (isLxc(g) && gs.kind === 'lxc') {
    const host = gs.current.props.unprivileged === '1';
    if (host !== g.unprivileged) {
      // Proxmox cannot change it (`unable to modify read-only option: 'unprivileged'`).
      drifts.push({
        field: 'unprivileged',
        host: host ? '1' : '0',
        declared: g.unprivileged ? '1' : '0',
        needsReplace: true,
      });
    }
  }
  const source = sourceDrift(ctx);
  if (source) drifts.push(source);
  // A guest on another node than declared is moved by the `node` target (placement.ts), never re-created.
  return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
}

function lxcCreateArgs(_ctx: TargetContext, g: LxcGuest, description: string): string[] {
  return [
    'create',
    String(g.vmid),
    g.ostemplate ?? '',
    ...lxcCreateOptions(g),
    '--unprivileged',
    g.unprivileged ? '1' : '0',
    '--rootfs',
    `${g.rootfs.storage}:${g.rootfs.sizeGb}`,
    '--description',
    description,
  ];
}

function cloneArgs(ctx: TargetContext, g: Guest, description: string): string[] {
  const src = String(g.cloneFrom);
  // `--snapname`: copy the source as the snapshot holds it (pve-container API2/LXC.pm:2058-2061,
  // qemu-server API2/Qemu.pm:4477-4488); it is also what lets a running CT be fully cloned (LXC.pm:2086).
  const snap = g.cloneSnapshot !== undefined ? ['--snapname', g.cloneSnapshot] : [];
  // A source on another node: `--target`, or `--full` for a clone that must migrate (placement.ts).
  const place = placementArgs(clonePlacement(ctx));
  return g.kind === 'lxc'
    ? ['clone', src, String(g.vmid), '--hostname', g.name, ...snap, ...place, '--description', description]
    : ['clone', src, String(g.vmid), '--name', g.name, ...snap, ...place, '--description', description];
}

function vmCreateArgs(g: VmGuest, description: string): string[] {
  return [
    'create',
    String(g.vmid),
    '--name',
    g.name,
    '--memory',
    String(g.memoryMb),
    '--cores',
    String(g.cores),
    '--net0',
    vmNetString(g),
    '--scsihw',
    'virtio-scsi-pci',
    '--ostype',
    'l26',
    '--agent',
    g.agent ? '1' : '0',
    '--scsi0',
    `${g.storage}:0,import-from=${g.image}`,
    '--ide2',
    `${g.storage}:cloudinit`,
    '--boot',
    'order=scsi0',
    '--serial0',
    'socket',
    '--vga',
    'serial0',
    '--description',
    description,
  ];
}

/** The description a new guest starts with: its notes and the stamps it carries from birth. */
function birthDescription(ctx: StepContext): string {
  const g = ctx.guest;
  const src = sourceGuest(ctx);
  const inherited = src?.gs ? snapshotStamps(ctx, readStamps(descriptionOf(src.gs), g.vmid).targets) : {};
  const notes = g.description ?? (src?.gs ? splitDescription(descriptionOf(src.gs)).notes : '');
  const source: Record<string, string> = src?.gs
    ? { source: sourceIdentity(descriptionOf(src.gs), src.vmid) }
    : {};
  return writeStamps(notes, g.vmid, { ...inherited, ...source, exists: ctx.fingerprint });
}

/** The stamps a clone inherits: those of its source that hold in the copy `pct/qm clone` makes. */
function snapshotStamps(ctx: StepContext, stamps: Record<string, string>): Record<string, string> {
  const after = cloneSnapshotStage(ctx.config, ctx.guest);
  return Object.fromEntries(Object.entries(stamps).filter(([name]) => heldAtSnapshot(name, after)));
}

/** The source was rebuilt since this clone was made: `onSourceChange` decides what that means. */
function sourceDrift(ctx: TargetContext): Drift | undefined {
  const src = sourceGuest(ctx);
  const recorded = ctx.stamps.by === ctx.guest.vmid ? ctx.stamps.targets.source : undefined;
  if (!src?.gs || recorded === undefined || ctx.guest.onSourceChange !== 'replace') return undefined;
  const now = sourceIdentity(descriptionOf(src.gs), src.vmid);
  if (now === recorded) return undefined;
  return {
    field: `source ${src.vmid}`,
    host: `built ${recorded}`,
    declared: `rebuilt ${now}`,
    needsReplace: true,
  };
}

async function destroy(ctx: StepContext): Promise<void> {
  const gs = ctx.gs;
  if (!gs) return;
  const word = gs.kind === 'lxc' ? 'pct' : 'qm';
  const on = onNodeCtx(ctx, gs.node);
  if (gs.status === 'running') await must(on, word, ['stop', String(gs.vmid)]);
  await must(on, word, ['destroy', String(gs.vmid), '--purge']);
}

/**
 * Written by the creating call before Proxmox starts, removed at the run's end: a creation killed
 * mid-task leaves this record beside its half-made guest, which lets a later run recover it as its own.
 */
function birthRecord(ctx: StepContext): BirthRecord {
  const g = ctx.guest;
  return {
    vmid: g.vmid,
    kind: kindOf(g),
    op: g.cloneFrom !== undefined ? 'clone' : 'create',
    ...(g.cloneFrom !== undefined ? { source: g.cloneFrom } : {}),
    pid: process.pid,
    host: hostname(),
    start: new Date().toISOString(),
  };
}

async function run(ctx: StepContext) {
  const g = ctx.guest;
  // Refused before anything is destroyed: a clone Proxmox cannot place on the declared node.
  const place = placeable(g, clonePlacement(ctx));
  if (ctx.gs) await destroy(ctx);
  const description = birthDescription(ctx);
  // The birth record is written by the creating call itself, on the node that runs it; the run's
  // end removes it (births.ts).
  const record = birthRecord(ctx);
  const born = (on: StepContext) => (cmd: string, args: string[]) =>
    withBirthRecord(record, on.host.mapPath, cmd, args);
  // Made on the declared node, whatever node the guest it replaces was on.
  const here = onNodeCtx(ctx, nodeOf(ctx));
  if (place) {
    // On the source's node, then onto the declared one (`--target`, or a migration): placement.ts.
    await placeClone(ctx, place, (on) =>
      must(on, tool(g), cloneArgs(ctx, g, description), undefined, born(on)),
    );
  } else if (isLxc(g)) {
    if (!g.ostemplate) throw new StepError(`guest ${g.vmid}: no ostemplate and no cloneFrom`);
    await must(here, 'pct', lxcCreateArgs(ctx, g, description), undefined, born(here));
  } else {
    if (!g.image) throw new StepError(`guest ${g.vmid}: no image and no cloneFrom`);
    // One `qm create` with the disk import and the cloud-init drive: the whole creation is one
    // Proxmox task under `lock: create`, so an interrupted one is visible (the lock, a running
    // task) and recoverable, never a VM that looks made but has no disk.
    await must(here, 'qm', vmCreateArgs(g, description), undefined, born(here));
    const after = await reread(ctx, 'stopped');
    if (!after.current.props.scsi0) throw new StepError(`VM ${g.vmid}: the disk import left no scsi0`);
    return { changed: true, status: 'stopped' as const };
  }
  await reread(ctx, 'stopped');
  return { changed: true, status: 'stopped' as const };
}

export const exists = defineTarget({
  kind: 'exists',
  // Clone sources are another guest's targets: the registry adds them.
  needs: () => [],
  stamp: 'optional',
  inputs: (ctx) => creationInputs(ctx.guest),
  observe,
  judge: (_ctx, obs) => (obs.kind === 'missing' ? 'create' : 'replace'),
  describe: (ctx) => {
    const g = ctx.guest;
    const prefix = ctx.gs ? `destroy ${g.vmid}${lossSuffix(ctx.gs)}, then ` : '';
    if (g.cloneFrom !== undefined)
      return (
        prefix +
        showCommand(tool(g), cloneArgs(ctx, g, '')) +
        placementNote(clonePlacement(ctx), g.vmid, tool(g))
      );
    if (isLxc(g)) return prefix + showCommand('pct', lxcCreateArgs(ctx, g, ''));
    return prefix + showCommand('qm', vmCreateArgs(g, ''));
  },
  locks: (ctx) => {
    const g = ctx.guest;
    // `pct clone` puts `lock: disk` on its source for the whole copy: nothing else may touch it.
    const keys = [`guest:${g.vmid}`];
    if (g.cloneFrom !== undefined && g.kind === 'lxc') keys.push(`guest:${g.cloneFrom}`);
    // The copy runs on the source's node; a clone that must migrate copies onto its own too (placement.ts).
    const place = clonePlacement(ctx);
    if (g.cloneFrom === undefined || g.kind === 'lxc') keys.push(`heavy:${place?.runOn ?? nodeOf(ctx)}`);
    if (place?.how === 'migrate') keys.push(`heavy:${place.to}`);
    return keys;
  },
  apply: run,
});

/** ` (loses: rootfs local-lvm:vm-103-disk-0 (8G); snapshots: base)` — what destroying it frees. */
export function lossSuffix(gs: GuestState): string {
  const lost = describeLoss(lossOf(gs));
  return lost.length ? ` (loses: ${lost.join('; ')})` : '';
}
