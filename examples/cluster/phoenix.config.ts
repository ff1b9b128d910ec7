// A 3-node Proxmox cluster (pve1, pve2, pve3): guests on every node, and clones of templates that
// live on another node than the clone.
//
//   phoenix build --sim --config examples/cluster/phoenix.config.ts --dry-run   # the plan, and why
//   phoenix build --sim --config examples/cluster/phoenix.config.ts
//
// - 102 clones template 900 (on pve1, local ZFS storage) onto pve2: Proxmox's `--target` needs
//   shared storage, so Phoenix clones on pve1 and migrates the new CT to pve2 — a full clone, as a
//   linked clone on ZFS names its base volume and cannot migrate (on LVM-thin it could).
// - 103 clones template 901 (on pve1, shared Ceph RBD storage) onto pve3 with `pct clone --target pve3`.
// - Changing a guest's `node` later migrates it (`pct migrate`, `qm migrate`); it is never
//   destroyed and re-created. To clone without a migration, declare a template on each node.
import { defineConfig, lxc, vm } from 'phoenix-pve';

const ubuntu = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

export default defineConfig({
  // '' = this machine (here: the simulator); on a real cluster: 'ssh://root@pve1' etc.
  nodes: { pve1: '', pve2: '', pve3: '' },
  storages: {
    // Per node: every node has its own `local` and `local-lvm`.
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import', 'snippets', 'backup'], path: '/var/lib/vz' },
    'local-lvm': { type: 'lvmthin', content: ['rootdir', 'images'] },
    'local-zfs': { type: 'zfspool', content: ['rootdir', 'images'], pool: 'rpool/data' },
    // Shared: one copy seen by every node (pve-storage marks rbd storages shared in any case), and
    // one where Proxmox can make linked clones of containers (it cannot on nfs or dir).
    'ceph-rbd': { type: 'rbd', content: ['rootdir', 'images'], shared: true },
  },
  guests: {
    900: lxc({
      name: 'golden-local',
      node: 'pve1',
      template: true,
      ostemplate: ubuntu,
      rootfs: { storage: 'local-zfs', sizeGb: 4 },
      net: [{ bridge: 'vmbr0', ip: 'dhcp' }],
    }),
    901: lxc({
      name: 'golden-shared',
      node: 'pve1',
      template: true,
      ostemplate: ubuntu,
      rootfs: { storage: 'ceph-rbd', sizeGb: 4 },
      net: [{ bridge: 'vmbr0', ip: 'dhcp' }],
    }),
    101: lxc({
      name: 'dns',
      node: 'pve1',
      ostemplate: ubuntu,
      rootfs: { storage: 'local-lvm', sizeGb: 4 },
      net: [{ bridge: 'vmbr0', ip: '10.0.0.101/24', gw: '10.0.0.1' }],
    }),
    102: lxc({
      name: 'web',
      node: 'pve2',
      cloneFrom: 900,
      net: [{ bridge: 'vmbr0', ip: '10.0.0.102/24', gw: '10.0.0.1' }],
    }),
    103: lxc({
      name: 'api',
      node: 'pve3',
      cloneFrom: 901,
      net: [{ bridge: 'vmbr0', ip: '10.0.0.103/24', gw: '10.0.0.1' }],
    }),
    104: vm({
      name: 'db',
      node: 'pve2',
      image: 'local:import/noble-server-cloudimg-amd64.qcow2',
      storage: 'local-lvm',
      bridge: 'vmbr0',
      cloudInit: { user: 'ops', ip: '10.0.0.104/24', gw: '10.0.0.1' },
    }),
    105: lxc({
      name: 'cache',
      node: 'pve3',
      ostemplate: ubuntu,
      rootfs: { storage: 'local-lvm', sizeGb: 4 },
      net: [{ bridge: 'vmbr0', ip: '10.0.0.105/24', gw: '10.0.0.1' }],
    }),
  },
});
