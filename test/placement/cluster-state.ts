// A 3-node cluster's state as one read returns it, for in-process placement tests: nodes
// pve1..pve3, each with `local` (dir), `local-lvm` (LVM-thin) and `local-zfs` (zfspool), the
// shared `nfs-shared` (nfs), `ceph-rbd` (rbd) and `cephfs-dir` (a dir storage marked `shared 1`), and `pve1-lvm`
// enabled on pve1 only.
import { guestFromText } from '../../src/pve/host.js';
import type { GuestKind, GuestState, HostState, PowerStatus, StorageState } from '../../src/pve/state.js';
import { emptyHostState } from '../../src/pve/state.js';

export const NODES = ['pve1', 'pve2', 'pve3'];

function storage(id: string, type: string, shared: boolean): StorageState {
  // `shared` as `/cluster/resources` reports it (pve-manager PVE/API2Tools.pm:133).
  return { id, type, content: ['images', 'rootdir'], enabled: true, active: true, shared };
}

export function clusterState(): HostState {
  const state = emptyHostState();
  state.nodes = [...NODES];
  for (const node of NODES) {
    const list = [
      storage('local', 'dir', false),
      storage('local-lvm', 'lvmthin', false),
      storage('local-zfs', 'zfspool', false),
      storage('nfs-shared', 'nfs', false),
      storage('ceph-rbd', 'rbd', false),
      storage('cephfs-dir', 'dir', true),
    ];
    if (node === 'pve1') list.push(storage('pve1-lvm', 'lvmthin', false));
    state.storages.set(node, new Map(list.map((s) => [s.id, s])));
  }
  return state;
}

/** Puts a guest read from its config text on `node`. */
export function put(
  state: HostState,
  vmid: number,
  kind: GuestKind,
  node: string,
  conf: string,
  status: PowerStatus = 'stopped',
): GuestState {
  const gs = guestFromText(vmid, kind, node, `${conf.trim()}\n`);
  if (!gs.template) gs.status = status;
  state.guests.set(vmid, gs);
  return gs;
}
