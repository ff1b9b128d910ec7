// The pure parts of the lifecycle: runtime order, what a destroy loses, linked-clone evidence,
// host-folder owners, firewall diffs.
import { describe, expect, it } from 'vitest';
import { destroyOrder, runtimeOrder } from '../../src/pipeline/order.js';
import { guestFromText } from '../../src/pve/host.js';
import { hostIdFor, parseStat } from '../../src/pve/idshift.js';
import { emptyHostState } from '../../src/pve/state.js';
import { linkedClonesOnHost, lossOf } from '../../src/pve/volumes.js';
import { firewallDrifts, wantFirewall } from '../../src/targets/firewall.js';
import {
  declaredHostDirs,
  hostDirCommands,
  hostDirConflicts,
  hostDirDrifts,
} from '../../src/targets/hostdirs.js';
import { configOf, lxcGuest } from '../fixtures/model.js';

const lxc = lxcGuest;

const config = configOf;

describe('runtime order', () => {
  const c = config([lxc(101, { dependsOn: [103] }), lxc(102, { dependsOn: [101, 103] }), lxc(103), lxc(200)]);
  it('start: dependencies first, closing over them', () => {
    const r = runtimeOrder(c, [102], 'start');
    expect(r.order).toEqual([103, 101, 102]);
    expect(r.added.map((a) => a.vmid).sort()).toEqual([101, 103]);
  });
  it('stop: dependents first, closing over them', () => {
    expect(runtimeOrder(c, [103], 'stop').order).toEqual([102, 101, 103]);
  });
  it('only: keeps the selection, still ordered', () => {
    expect(runtimeOrder(c, [103, 102], 'stop', true).order).toEqual([102, 103]);
    expect(runtimeOrder(c, [200], 'start').order).toEqual([200]);
  });
  it('destroy: clones before sources, transitively', () => {
    const src: Record<number, number[]> = { 911: [901], 901: [900], 103: [900] };
    expect(destroyOrder([900, 901, 911, 103], (v) => src[v] ?? [])).toEqual([103, 911, 901, 900]);
  });
});

describe('what a guest owns', () => {
  const text = [
    'rootfs: quickOS-lxc-disks:basevol-900-disk-0/subvol-101-disk-0,size=32G',
    'mp0: /mnt/pve/data/101/logs,mp=/var/log/nginx',
    'mp1: fastData:subvol-101-disk-1,mp=/models,size=50G',
    'unused0: quickOS-lxc-disks:subvol-101-disk-9',
    'hostname: web',
    '',
    '[pre]',
    'hostname: web',
    '',
  ].join('\n');
  const gs = guestFromText(101, 'lxc', 'pve', text);
  it('lists volumes with sizes, keeps bind mounts, names snapshots', () => {
    const loss = lossOf(gs);
    expect(loss.volumes.map((v) => v.key)).toEqual(['rootfs', 'mp1', 'unused0']);
    expect(loss.volumes[0]).toEqual({
      key: 'rootfs',
      volume: 'quickOS-lxc-disks:basevol-900-disk-0/subvol-101-disk-0',
      size: '32G',
    });
    expect(loss.keptFolders).toEqual(['/mnt/pve/data/101/logs']);
    expect(loss.snapshots).toEqual(['pre']);
  });
  it('finds ZFS linked clones of a template by its base volume', () => {
    const state = emptyHostState();
    state.guests.set(
      900,
      guestFromText(
        900,
        'lxc',
        'pve',
        'rootfs: quickOS-lxc-disks:basevol-900-disk-0,size=16G\ntemplate: 1\n',
      ),
    );
    state.guests.set(101, gs);
    state.guests.set(
      102,
      guestFromText(102, 'lxc', 'pve', 'rootfs: quickOS-lxc-disks:subvol-102-disk-0,size=16G\n'),
    );
    expect(linkedClonesOnHost(state, 900)).toEqual([101]);
    expect(linkedClonesOnHost(state, 102)).toEqual([]);
  });
  it('VM disks: cloud-init drive counts, a CD-ROM does not', () => {
    const vm = guestFromText(
      1001,
      'vm',
      'pve',
      'scsi0: local-lvm:base-9000-disk-0/vm-1001-disk-0,size=32G\nide2: local-lvm:vm-1001-cloudinit,media=cdrom\nide0: local:iso/x.iso,media=cdrom\nefidisk0: local-lvm:vm-1001-disk-1,size=4M\n',
    );
    expect(lossOf(vm).volumes.map((v) => v.key)).toEqual(['scsi0', 'ide2', 'efidisk0']);
  });
});

describe('host folders behind bind mounts', () => {
  const g101 = lxc(101, {
    idmap: [{ type: 'gid', containerId: 33, hostId: 33, size: 1 }],
    mounts: [
      { hostPath: '/d/101/logs', path: '/var/log/nginx', owner: { uid: 33, gid: 33 } },
      { hostPath: '/d/101/ssl', path: '/etc/nginx/ssl', owner: { uid: 0, gid: 0 } },
      { hostPath: '/d/shared', path: '/shared' },
    ],
  });
  it('shifts unmapped ids by 100000 and keeps mapped ones', () => {
    expect(hostIdFor(g101, 'uid', 33)).toBe(100033);
    expect(hostIdFor(g101, 'gid', 33)).toBe(33);
    expect(hostIdFor(lxc(1, { unprivileged: false }), 'uid', 33)).toBe(33);
    expect(declaredHostDirs(g101).map((d) => `${d.path} ${d.uid}:${d.gid}`)).toEqual([
      '/d/101/logs 100033:33',
      '/d/101/ssl 100000:100000',
      '/d/shared 100000:100000',
    ]);
  });
  it('plans mkdir for missing folders and one chown per owner; drift names old and new', () => {
    const owners = parseStat('0:0 /d/101/ssl\n1000:1000 /d/shared\n');
    expect(hostDirCommands(declaredHostDirs(g101), owners)).toEqual([
      ['mkdir', ['-p', '--', '/d/101/logs']],
      ['chown', ['100033:33', '--', '/d/101/logs']],
      ['chown', ['100000:100000', '--', '/d/101/ssl']],
    ]);
    expect(hostDirDrifts(g101, owners)).toEqual([
      { field: 'host folder /d/101/logs', host: 'missing', declared: '100033:33' },
      { field: 'host folder /d/101/ssl', host: '0:0', declared: '100000:100000' },
    ]);
  });
  it('two guests wanting different host owners of one folder is a problem', () => {
    const other = lxc(102, { mounts: [{ hostPath: '/d/101/logs', path: '/x', owner: { uid: 0, gid: 0 } }] });
    expect(hostDirConflicts(config([g101, other]))).toEqual([
      expect.stringContaining(
        'host folder /d/101/logs: guests want different host owners (101 → 100033:33, 102 → 100000:100000)',
      ),
    ]);
  });
});

describe('firewall diff', () => {
  const want = wantFirewall({
    enabled: true,
    policyIn: 'DROP',
    rules: [{ direction: 'in', action: 'ACCEPT', proto: 'tcp', dport: '443', comment: 'https' }],
  });
  it('names each changed option and rule with old and new values', () => {
    const host =
      '[OPTIONS]\n\nenable: 1\npolicy_in: ACCEPT\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 8443 # https\nIN DROP -p udp\n';
    expect(firewallDrifts(host, want)).toEqual([
      { field: 'firewall.policy_in', host: 'ACCEPT', declared: 'DROP' },
      {
        field: 'firewall rule 0',
        host: 'IN ACCEPT -p tcp -dport 8443 # https',
        declared: 'IN ACCEPT -p tcp -dport 443 # https',
      },
      { field: 'firewall rule 1', host: 'IN DROP -p udp', declared: undefined },
    ]);
  });
  it('a missing file and an identical file', () => {
    expect(firewallDrifts(undefined, want)).toEqual([
      { field: 'firewall', host: '(no file)', declared: '1 rule' },
    ]);
    expect(
      firewallDrifts(
        '[OPTIONS]\nenable: 1\npolicy_in: DROP\n[RULES]\nIN ACCEPT -p tcp -dport 443 # https\n',
        want,
      ),
    ).toEqual([]);
  });
});
