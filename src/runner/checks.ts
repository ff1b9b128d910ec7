// Planning checks, before anything changes: every node, storage, OS template and cloud image the
// plan needs exists and allows the content it is used for (Proxmox content types). A plan that
// cannot succeed fails here — in --dry-run too — naming what is missing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config, ContentType, Guest } from '../dsl/model.js';
import { formatSize, GiB, parsePropertyString, parseSize } from '../pve/format/index.js';
import type { ReadNeeds } from '../pve/host.js';
import { descriptionOf, type HostState } from '../pve/state.js';
import { describeLoss, lossOf } from '../pve/volumes.js';
import type { Verdict } from './staleness.js';
import { readStamps, sourceIdentity } from './stamps.js';
import { targetId } from './types.js';

const nodeOf = (config: Config, g: Guest) => g.node ?? config.node;
const storageOfVolume = (volid: string) => /^([^:/\s]+):/.exec(volid)?.[1];

/**
 * What the bulk read must fetch for these guests (constant in the number of guests). Storage
 * contents are not among it: lazy-read.ts lists them once a plan creates from them. `hostDirs`
 * (the bind-mounted folders whose owners are read) come from the hostdirs target, above the runner.
 */
export function readNeeds(config: Config, hostDirs: string[]): ReadNeeds {
  const nodes = new Set<string>([config.node]);
  for (const g of config.guests.values()) nodes.add(nodeOf(config, g));
  const idFiles = [...config.guests.values()].some((g) => g.kind === 'lxc' && g.idmap.length > 0);
  return { nodes: [...nodes], listContent: [], idFiles, hostDirs };
}

export function planChecks(
  config: Config,
  state: HostState,
  verdicts: Map<string, Verdict>,
  allowReplace: boolean,
  /** Problems found above the runner (conflicting host folders), listed first. */
  earlier: string[] = [],
): string[] {
  const problems: string[] = [...earlier];
  const staleGuests = new Map<number, Set<string>>();
  const selectedGuests = new Set<number>();
  for (const v of verdicts.values()) selectedGuests.add(v.guest);
  for (const vmid of selectedGuests) {
    const g = config.guests.get(vmid);
    const gs = state.guests.get(vmid);
    const exists = g && verdicts.get(targetId(g.kind, vmid, 'exists'));
    // A guest being re-created gets its declared size anyway.
    if (g && gs && !(exists?.stale && exists.effect === 'replace')) {
      const p = shrinkProblem(g, gs.current.props);
      if (p) problems.push(p);
    }
  }
  for (const v of verdicts.values()) {
    if (!v.stale) continue;
    const names = staleGuests.get(v.guest) ?? new Set<string>();
    names.add(v.name);
    staleGuests.set(v.guest, names);
  }
  const needStorage = (g: Guest, sid: string, type: ContentType, what: string) => {
    const node = nodeOf(config, g);
    const s = state.storages.get(node)?.get(sid);
    // `/cluster/resources` lists only the storages enabled on a node (pve-manager Cluster.pm).
    if (!s)
      problems.push(
        `guest ${g.vmid}: storage '${sid}' (${what}) does not exist on node '${node}' (or is disabled there)`,
      );
    else if (!s.content.includes(type)) {
      problems.push(
        `guest ${g.vmid}: storage '${sid}' (${what}) does not allow content '${type}' (it allows: ${s.content.join(', ') || 'nothing'})`,
      );
    } else if (!s.enabled || !s.active)
      problems.push(`guest ${g.vmid}: storage '${sid}' is not active on node '${node}'`);
  };
  const needVolume = (g: Guest, volid: string, type: ContentType, what: string) => {
    if (volid.startsWith('/')) return; // an absolute path on the host: Proxmox allows it for root
    const sid = storageOfVolume(volid);
    if (!sid) {
      problems.push(`guest ${g.vmid}: ${what} '${volid}' is not a volume id (storage:${type}/file)`);
      return;
    }
    needStorage(g, sid, type, what);
    const node = nodeOf(config, g);
    // Only a listed storage can tell that a volume is missing (contents are read when needed).
    if (state.contentListed?.has(`${node}/${sid}`) && !state.volumes.get(node)?.has(volid)) {
      problems.push(`guest ${g.vmid}: ${what} '${volid}' does not exist on node '${node}'`);
    }
  };

  for (const [vmid, names] of staleGuests) {
    const g = config.guests.get(vmid);
    if (!g) continue;
    const node = nodeOf(config, g);
    if (!state.nodes.includes(node)) {
      problems.push(
        `guest ${vmid}: node '${node}' does not exist (host has: ${state.nodes.join(', ') || 'none'})`,
      );
      continue;
    }
    const creating = names.has('exists');
    if (creating) {
      if (g.cloneFrom !== undefined) {
        const src = config.guests.get(g.cloneFrom);
        const host = state.guests.get(g.cloneFrom);
        if (!src && !host && !g.cloneSourceOnHost)
          problems.push(`guest ${vmid}: clone source ${g.cloneFrom} is neither declared nor on the host`);
        const srcRunning = host?.status === 'running' && !host.template && !src?.template;
        // A running CT is fully cloned only from a snapshot (pve-container API2/LXC.pm:2086-2088).
        if (g.kind === 'lxc' && srcRunning && g.cloneSnapshot === undefined) {
          problems.push(
            `guest ${vmid}: clone source ${g.cloneFrom} is a running container that is not a template; Proxmox clones a running CT only from a snapshot (declare cloneSnapshot, stop it, or declare it a template)`,
          );
        }
        if (g.kind === 'lxc') {
          const srcUnpriv =
            src?.kind === 'lxc'
              ? src.unprivileged
              : host
                ? host.current.props.unprivileged === '1'
                : undefined;
          if (srcUnpriv !== undefined && srcUnpriv !== g.unprivileged) {
            problems.push(
              `guest ${vmid}: declared unprivileged=${g.unprivileged} but its clone source ${g.cloneFrom} is unprivileged=${srcUnpriv} (a clone inherits it; Proxmox cannot change it)`,
            );
          }
        }
      } else if (g.kind === 'lxc') {
        if (!g.ostemplate) problems.push(`guest ${vmid}: needs an ostemplate or cloneFrom`);
        else needVolume(g, g.ostemplate, 'vztmpl', 'OS template');
        needStorage(g, g.rootfs.storage, 'rootdir', 'root disk');
      } else {
        if (!g.image) problems.push(`guest ${vmid}: needs an image or cloneFrom`);
        else needVolume(g, g.image, 'import', 'cloud image');
        needStorage(g, g.storage, 'images', 'disk');
      }
    }
    if (g.kind === 'lxc' && (creating || names.has('storage'))) {
      for (const z of g.zfsVolumes) needStorage(g, z.storage, 'rootdir', `volume ${z.name}`);
    }
    for (const s of names) {
      const v = verdicts.get(targetId(g.kind, vmid, s));
      if (v?.effect === 'replace' && !allowReplace) {
        problems.push(
          `${v.target}: needs to replace guest ${vmid} (${v.reasons.map((r) => ('field' in r ? `${r.field}` : r.kind)).join(', ')})${lostText(state, vmid)}; pass --allow-replace to destroy and re-create it`,
        );
      }
    }
  }
  problems.push(...hostSourceProblems(config, state, staleGuests));
  return problems;
}

/**
 * `cloneFromHost`: the source is not declared, so Phoenix never builds it; a guest still to be
 * created needs it on the host already, and of its own kind (`pct clone` clones only containers,
 * `qm clone` only VMs).
 */
export function hostSourceProblems(
  config: Config,
  state: HostState,
  stale: Map<number, Set<string>>,
): string[] {
  const out: string[] = [];
  for (const [vmid, names] of stale) {
    const g = config.guests.get(vmid);
    if (!g?.cloneSourceOnHost || g.cloneFrom === undefined || !names.has('exists')) continue;
    const host = state.guests.get(g.cloneFrom);
    const what = (k: string) => (k === 'lxc' ? 'a container' : 'a VM');
    if (!host)
      out.push(
        `guest ${vmid}: cloneFromHost ${g.cloneFrom} does not exist on the host (it is not declared, so Phoenix does not build it: create it first, or declare it and use cloneFrom)`,
      );
    else if (host.kind !== g.kind)
      out.push(
        `guest ${vmid}: cloneFromHost ${g.cloneFrom} is ${what(host.kind)} on the host; ${what(g.kind)} can only be cloned from ${what(g.kind)}`,
      );
  }
  return out;
}

/** The marker `phoenix import` puts on the second line of a placeholder for a missing legacy script. */
export const PLACEHOLDER_MARK = '# phoenix:placeholder';

/**
 * Provisioning steps about to run a placeholder script (a legacy script `phoenix import` could not
 * find): on a real host the build refuses them, on the simulator they are warnings.
 */
export function placeholderProblems(config: Config, verdicts: Map<string, Verdict>): string[] {
  const out: string[] = [];
  const seen = new Map<string, boolean>();
  const placeholder = (script: string) => {
    let p = seen.get(script);
    if (p === undefined) {
      try {
        const head = readFileSync(path.resolve(path.dirname(config.file), script), 'utf8').split('\n', 3);
        p = head.some((l) => l.startsWith(PLACEHOLDER_MARK));
      } catch {
        p = false;
      }
      seen.set(script, p);
    }
    return p;
  };
  for (const v of verdicts.values()) {
    if (!v.stale) continue;
    const g = config.guests.get(v.guest);
    const script = v.name.startsWith('feature:')
      ? config.features[v.name.slice('feature:'.length)]?.script
      : v.name === 'app'
        ? g?.app?.script
        : undefined;
    if (script && placeholder(script))
      out.push(
        `${v.target} would run ${script}, a placeholder \`phoenix import\` wrote for a legacy script it did not find: port the script (and remove its placeholder line) first`,
      );
  }
  return out;
}

/** `; it would lose: rootfs ... (8G); snapshots: base` for a guest on the host. */
export function lostText(state: HostState, vmid: number): string {
  const gs = state.guests.get(vmid);
  const lost = gs ? describeLoss(lossOf(gs)) : [];
  return lost.length ? `; it would lose: ${lost.join('; ')}` : '';
}

/** A declared disk smaller than the guest's: Proxmox only grows disks. */
function shrinkProblem(g: Guest, props: Record<string, string>): string | undefined {
  const sizeOf = (value: string | undefined, key: string) => {
    if (!value) return undefined;
    const p = parsePropertyString(value, key);
    return p.ok && p.value.size ? parseSize(p.value.size) : undefined;
  };
  if (g.kind === 'lxc') {
    const have = sizeOf(props.rootfs, 'volume');
    const want = g.rootfs.sizeGb * GiB;
    if (have !== undefined && have > want)
      return `guest ${g.vmid}: rootfs is ${formatSize(have)} on the host, declared ${g.rootfs.sizeGb}G: Proxmox cannot shrink a disk (grow only; pct resize refuses 'unable to shrink disk size')`;
  } else if (g.diskGb !== undefined) {
    const have = sizeOf(props.scsi0, 'file');
    if (have !== undefined && have > g.diskGb * GiB)
      return `guest ${g.vmid}: disk scsi0 is ${formatSize(have)} on the host, declared ${g.diskGb}G: Proxmox cannot shrink a disk (grow only; qm resize says 'shrinking disks is not supported')`;
  }
  return undefined;
}

export interface OutdatedClone {
  vmid: number;
  source: number;
  text: string;
}

/**
 * Clones whose source was rebuilt after they were made (any `onSourceChange`: under 'replace'
 * the plan re-clones them anyway). A clone whose `exists` is already stale in `verdicts` (its
 * source changed in the config, or it is being re-created) is not outdated: it is being replaced.
 */
export function outdatedClones(
  config: Config,
  state: HostState,
  verdicts?: Map<string, Verdict>,
): OutdatedClone[] {
  const out: OutdatedClone[] = [];
  for (const g of config.guests.values()) {
    if (g.cloneFrom === undefined) continue;
    if (verdicts?.get(targetId(g.kind, g.vmid, 'exists'))?.stale) continue;
    const gs = state.guests.get(g.vmid);
    const src = state.guests.get(g.cloneFrom);
    if (!gs || !src) continue;
    const stamps = readStamps(descriptionOf(gs), g.vmid);
    const recorded = stamps.by === g.vmid ? stamps.targets.source : undefined;
    if (recorded === undefined || recorded === sourceIdentity(descriptionOf(src), g.cloneFrom)) continue;
    out.push({
      vmid: g.vmid,
      source: g.cloneFrom,
      text: `cloned before ${g.cloneFrom} was rebuilt`,
    });
  }
  return out;
}

/** Clones whose source was rebuilt after they were made, under `onSourceChange: 'warn'`. */
export function sourceWarnings(config: Config, state: HostState, verdicts?: Map<string, Verdict>): string[] {
  return outdatedClones(config, state, verdicts)
    .filter((o) => config.guests.get(o.vmid)?.onSourceChange === 'warn')
    .map(
      (o) =>
        `guest ${o.vmid} was cloned from ${o.source} before ${o.source} was rebuilt; it keeps the old base (onSourceChange: 'warn'; 'replace' re-clones it)`,
    );
}
