// The acceptance suite's fleet (test/acceptance/acceptance.test.ts). Every guest id is an offset in
// PHOENIX_ACCEPTANCE_VMIDS; everything is tagged `phoenix-acceptance`, which is how the suite
// knows its own guests. Host specifics come from the environment so that the same file is valid on
// a real Proxmox VE 9 node (see README, "Acceptance suite"). PHOENIX_ACCEPTANCE_STAGE=2 is the
// second build: changes to running guests.
import { defineConfig, lxc, vm } from 'phoenix-pve';

const env = process.env;
const first = Number((env.PHOENIX_ACCEPTANCE_VMIDS ?? '99900-99999').split('-')[0]);
const id = (offset: number): number => first + offset;
const stage2 = env.PHOENIX_ACCEPTANCE_STAGE === '2';
const [storage, storageType] = (env.PHOENIX_ACCEPTANCE_STORAGE ?? 'local-lvm:lvmthin').split(':') as [
  string,
  'lvmthin' | 'zfspool' | 'rbd' | 'lvm',
];
const bridge = env.PHOENIX_ACCEPTANCE_BRIDGE ?? 'vmbr0';
const ostemplate =
  env.PHOENIX_ACCEPTANCE_OSTEMPLATE ?? 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst';
// A cloud image with qemu-guest-agent installed (plain Ubuntu cloud images lack it); Proxmox imports
// only .qcow2/.raw/.vmdk from import/ (pve-storage src/PVE/Storage.pm:122).
const image = env.PHOENIX_ACCEPTANCE_IMAGE ?? 'local:import/noble-server-cloudimg-amd64-agent.qcow2';
const tags = ['phoenix-acceptance'];
const net = [{ bridge, ip: 'dhcp' as const }];
const rootfs = { storage, sizeGb: 4 };

export default defineConfig({
  node: env.PHOENIX_ACCEPTANCE_NODE ?? 'pve',
  storages: {
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import', 'snippets'], path: '/var/lib/vz' },
    [storage]: { type: storageType, content: ['rootdir', 'images'] },
  },
  features: {
    hello: { script: 'features/hello.sh', description: 'writes /var/lib/phoenix-acceptance/hello' },
  },
  guests: {
    // A container from an OS template: provisioned by push + exec, firewall, changed while running.
    [id(0)]: lxc({
      name: 'acc-ct',
      ostemplate,
      rootfs,
      memoryMb: stage2 ? 1024 : 512,
      nameserver: stage2 ? '192.0.2.53' : '192.0.2.1',
      net: [{ bridge, ip: 'dhcp', firewall: true }],
      firewall: {
        policyIn: 'DROP',
        rules: [{ direction: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', comment: 'ssh' }],
      },
      features: ['hello'],
      tags,
    }),
    // Template conversion and a linked clone of it.
    [id(1)]: lxc({
      name: 'acc-template',
      ostemplate,
      rootfs,
      net,
      features: ['hello'],
      template: true,
      tags,
    }),
    [id(2)]: lxc({ name: 'acc-linked', cloneFrom: id(1), net, tags }),
    // A snapshot, and a full clone made from that snapshot.
    [id(3)]: lxc({
      name: 'acc-snapshot-source',
      ostemplate,
      rootfs,
      net,
      features: ['hello'],
      snapshots: [{ name: 'golden', after: 'features', description: 'after the hello feature' }],
      tags,
    }),
    [id(4)]: lxc({ name: 'acc-snapshot-clone', cloneFrom: id(3), cloneSnapshot: 'golden', net, tags }),
    // Custom id mapping: container uid/gid 1000 is host 1000 (Phoenix adds root:1000:1 to /etc/subuid, /etc/subgid).
    [id(5)]: lxc({
      name: 'acc-idmap',
      ostemplate,
      rootfs,
      net,
      idmap: [
        { type: 'uid', containerId: 1000, hostId: 1000, size: 1 },
        { type: 'gid', containerId: 1000, hostId: 1000, size: 1 },
      ],
      tags,
    }),
    // A bind mount of a host folder (no snapshots: Proxmox cannot snapshot a CT with bind mounts).
    [id(6)]: lxc({
      name: 'acc-bind',
      ostemplate,
      rootfs,
      net,
      mounts: [
        { hostPath: `/var/lib/phoenix-acceptance/${id(6)}`, path: '/data', owner: { uid: 1000, gid: 1000 } },
      ],
      tags,
    }),
    // A VM from a cloud image with the guest agent: provisioned by qm guest exec, cloud-init changed while running.
    [id(7)]: vm({
      name: 'acc-vm',
      image,
      storage,
      bridge,
      memoryMb: 1024,
      agent: true,
      cloudInit: stage2
        ? { user: 'acceptance', ip: '192.0.2.77/24', gw: '192.0.2.1' }
        : { user: 'acceptance', ip: 'dhcp' },
      features: ['hello'],
      tags,
    }),
    // Device passthrough entries (dev0…): only where the host has an NVIDIA GPU 0.
    ...(env.PHOENIX_ACCEPTANCE_GPUS === '1'
      ? { [id(8)]: lxc({ name: 'acc-gpu', ostemplate, rootfs, net, gpus: [0], tags }) }
      : {}),
  },
});
