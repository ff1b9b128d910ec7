// What a guest owns on the host, read from its config: the volumes Proxmox frees when it is
// destroyed, the bind-mounted host folders it keeps, the snapshots that go with it, and which
// guests are linked clones of a template (their disks name its base volume).
import type { Vmid } from '../dsl/model.js';
import { parsePropertyString } from './format/index.js';
import type { GuestState, HostState } from './state.js';

export interface Loss {
  /** Volumes freed by `pct destroy` / `qm destroy`, with their config key (`rootfs`, `mp0`, `scsi0`). */
  volumes: Array<{ key: string; volume: string; size?: string }>;
  /** Bind-mounted host folders: not removed by Proxmox, listed so nobody worries. */
  keptFolders: string[];
  snapshots: string[];
}

const LXC_VOLUME_KEY = /^(rootfs|mp\d+|unused\d+)$/;
const QEMU_VOLUME_KEY = /^(scsi\d+|virtio\d+|sata\d+|ide\d+|efidisk\d+|tpmstate\d+|unused\d+)$/;

/** The volumes a guest owns (its config's main section and pending changes). */
export function lossOf(gs: GuestState): Loss {
  const loss: Loss = { volumes: [], keptFolders: [], snapshots: Object.keys(gs.conf.snapshots).sort() };
  const lxc = gs.kind === 'lxc';
  const seen = new Set<string>();
  const sections = [gs.conf.main.props, gs.conf.pending?.props ?? {}];
  for (const props of sections) {
    for (const [key, raw] of Object.entries(props)) {
      if (!(lxc ? LXC_VOLUME_KEY : QEMU_VOLUME_KEY).test(key)) continue;
      const p = parsePropertyString(raw, lxc ? 'volume' : 'file');
      if (!p.ok) continue;
      const volume = (lxc ? p.value.volume : p.value.file) ?? '';
      if (!volume || volume === 'none' || seen.has(volume)) continue;
      // A CD-ROM with an ISO is not the VM's; its cloud-init drive (also media=cdrom) is.
      if (!lxc && p.value.media === 'cdrom' && (volume === 'cdrom' || volume.includes(':iso/'))) continue;
      seen.add(volume);
      if (volume.startsWith('/')) {
        // A bind mount or a device: Proxmox leaves it alone.
        loss.keptFolders.push(volume);
        continue;
      }
      const size = p.value.size;
      loss.volumes.push(size ? { key, volume, size } : { key, volume });
    }
  }
  return loss;
}

/** One line per lost thing, for plans and confirmations. */
export function describeLoss(loss: Loss): string[] {
  const out = loss.volumes.map((v) => `${v.key} ${v.volume}${v.size ? ` (${v.size})` : ''}`);
  if (loss.snapshots.length) out.push(`snapshots: ${loss.snapshots.join(', ')}`);
  return out;
}

/**
 * The base volume names a template's disks expose (`base-900-disk-0`, `basevol-900-disk-0`).
 * Proxmox names a linked clone's volume after its base on ZFS (`basevol-900-disk-0/subvol-101-disk-0`),
 * dir/qcow2 (`900/base-900-disk-0.qcow2/101/vm-101-disk-0.qcow2`) and RBD (`base-900-disk-0/vm-101-disk-0`);
 * on LVM-thin the link is not encoded at all (pve-storage LvmThinPlugin), so the declared
 * `cloneFrom` is the only evidence there.
 */
function baseNames(gs: GuestState): string[] {
  const out: string[] = [];
  for (const v of lossOf(gs).volumes) {
    const volname = v.volume.replace(/^[^:]+:/, '');
    const m = /(?:^|\/)((?:base|basevol)-\d+-disk-\d+)(?:\.\w+)?$/.exec(volname);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Guests on the host whose disks are linked clones of `template`'s base volumes. */
export function linkedClonesOnHost(state: HostState, template: Vmid): Vmid[] {
  const gs = state.guests.get(template);
  if (!gs?.template) return [];
  const bases = baseNames(gs);
  if (!bases.length) return [];
  const out: Vmid[] = [];
  for (const other of state.guests.values()) {
    if (other.vmid === template) continue;
    const linked = lossOf(other).volumes.some((v) => {
      const volname = v.volume.replace(/^[^:]+:/, '');
      return bases.some(
        (b) => volname.includes(`${b}/`) || (volname.includes(`${b}.`) && volname.includes('/')),
      );
    });
    if (linked) out.push(other.vmid);
  }
  return out.sort((a, b) => a - b);
}
