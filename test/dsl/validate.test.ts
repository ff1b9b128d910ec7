// validateConfig on plain data, the way a JavaScript config or the importer reaches it: every
// problem reported at once, each with its path and fix; defaults and clone inheritance resolved.
import { describe, expect, it } from 'vitest';
import { lxc, vm } from '../../src/dsl/define.js';
import type { Diagnostic } from '../../src/dsl/diagnostics.js';
import type { LxcGuest, VmGuest } from '../../src/dsl/model.js';
import { validateConfig } from '../../src/dsl/validate.js';
import { configWarnings } from '../../src/dsl/warnings.js';

const FILE = '/srv/phoenix/phoenix.config.js';

const storages = {
  'quickOS-lxc-disks': { type: 'zfspool', content: ['rootdir', 'images'], pool: 'quickOS/lxc-disks' },
  'quickOS-vm-disks': { type: 'zfspool', content: ['images'], pool: 'quickOS/vm-disks' },
  local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
};
const features = {
  base_setup: { script: 'features/base_setup.sh' },
  docker: { script: 'features/docker.sh' },
};
const base = () => ({
  kind: 'lxc',
  name: 'copy-base',
  template: true,
  ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
  cores: 2,
  memoryMb: 2048,
  rootfs: { storage: 'quickOS-lxc-disks', sizeGb: 16 },
  net: [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.200/24', gw: '10.0.0.1', hwaddr: '52:54:00:AA:BB:CC' }],
  features: ['base_setup'],
});
const cloudTemplate = () => ({
  kind: 'vm',
  name: 'ubuntu-cloud',
  template: true,
  image: 'local:import/noble-server-cloudimg-amd64.qcow2',
  storage: 'quickOS-vm-disks',
  bridge: 'vmbr0',
  diskGb: 8,
  cloudInit: { user: 'phoenix_user', ip: 'dhcp', nameserver: '10.0.0.13' },
});

/** The fields without `kind`, as written inside lxc()/vm(). */
const spec = ({ kind: _, ...rest }: Record<string, unknown>) => rest;

function config(guests: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { storages, features, guests, ...extra };
}
function problems(raw: unknown): Diagnostic[] {
  const r = validateConfig(raw, FILE);
  return r.ok ? [] : r.error;
}
const at = (ds: Diagnostic[], path: string) => ds.filter((d) => d.path === path);

describe('validateConfig: a valid config', () => {
  it('resolves defaults, clone inheritance and the file', () => {
    const r = validateConfig(
      config({
        900: base(),
        103: {
          kind: 'lxc',
          name: 'step-ca',
          cloneFrom: 900,
          net: [{ bridge: 'vmbr100', ip: '172.16.100.11/24' }],
        },
        9000: cloudTemplate(),
        1001: {
          kind: 'vm',
          name: 'portainer',
          cloneFrom: 9000,
          dependsOn: [103],
          cloudInit: { ip: '10.0.0.111/24', gw: '10.0.0.1' },
        },
      }),
      FILE,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const cfg = r.value;
    expect(cfg.file).toBe(FILE);
    expect(cfg.node).toBe('pve');
    const ct = cfg.guests.get(103) as LxcGuest;
    expect(ct).toMatchObject({
      kind: 'lxc',
      vmid: 103,
      cloneFrom: 900,
      template: false,
      cores: 2,
      memoryMb: 2048,
      swapMb: 512,
      unprivileged: true,
      rootfs: { storage: 'quickOS-lxc-disks', sizeGb: 16 },
      net: [{ index: 0, name: 'eth0', bridge: 'vmbr100', ip: '172.16.100.11/24' }],
      features: [],
      dependsOn: [],
      snapshots: [],
      boot: { onboot: false },
      onSourceChange: 'warn',
      gpus: [],
      rawLxc: [],
      idmap: [],
      mounts: [],
      zfsVolumes: [],
      pveFeatures: {},
    });
    expect(ct.ostemplate).toBeUndefined();
    const v = cfg.guests.get(1001) as VmGuest;
    expect(v).toMatchObject({
      storage: 'quickOS-vm-disks',
      bridge: 'vmbr0',
      diskGb: 8,
      agent: true,
      cloudInit: { user: 'phoenix_user', ip: '10.0.0.111/24', gw: '10.0.0.1', nameserver: '10.0.0.13' },
      nfsVolumes: [],
    });
    expect(v.image).toBeUndefined();
  });

  it('accepts lxc()/vm() results and string VMID keys', () => {
    const r = validateConfig(
      config({
        '900': lxc(spec(base()) as never),
        9000: vm(spec(cloudTemplate()) as never),
      }),
      FILE,
    );
    expect(r.ok ? [...r.value.guests.keys()] : r.error).toEqual([900, 9000]);
  });

  it('resolves a clone declared before its source (chains too)', () => {
    const r = validateConfig(
      config({
        901: { kind: 'lxc', name: 'b', cloneFrom: 900, template: true, cores: 6 },
        902: { kind: 'lxc', name: 'c', cloneFrom: 901, rootfs: { sizeGb: 32 } },
        900: base(),
      }),
      FILE,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.guests.get(902)).toMatchObject({
      cores: 6,
      memoryMb: 2048,
      rootfs: { storage: 'quickOS-lxc-disks', sizeGb: 32 },
    });
  });
});

describe('validateConfig: problems', () => {
  it('names an undeclared clone source with guest, field and id', () => {
    const ds = problems(config({ 900: base(), 103: { kind: 'lxc', name: 'step-ca', cloneFrom: 905 } }));
    expect(ds).toEqual([
      expect.objectContaining({
        path: 'guests.103.cloneFrom',
        message: 'guest 905 is not declared',
        fix: expect.stringContaining('900'),
        file: FILE,
      }),
    ]);
  });

  it('reports all problems at once', () => {
    const ds = problems(
      config({
        90: base(),
        900: { ...base(), name: 'copy_base', cores: 0, snapshots: [{ name: 'x', after: 'features' }] },
        103: { kind: 'lxc', name: 'step-ca', cloneFrom: 905, dependsOn: [104, 999], features: ['dockr'] },
        104: { kind: 'lxc', name: 'web', cloneFrom: 900, dependsOn: [103], memroyMb: 5 },
      }),
    );
    const paths = ds.map((d) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'guests.90',
        'guests.900.cores',
        'guests.900.name',
        'guests.900.snapshots.0.name',
        'guests.900.snapshots',
        'guests.103.cloneFrom',
        'guests.103.dependsOn.1',
        'guests.103.features.0',
        'guests.104.memroyMb',
      ]),
    );
    expect(at(ds, 'guests.104.memroyMb')[0]?.fix).toBe('did you mean "memoryMb"?');
    expect(at(ds, 'guests.103.features.0')[0]?.fix).toBe('did you mean "docker"?');
    expect(at(ds, 'guests.900.name')[0]?.message).toContain('"_"');
    expect(at(ds, 'guests.900.name')[0]?.fix).toContain('copy-base');
    expect(ds.find((d) => d.message.startsWith('dependency cycle'))?.message).toMatch(
      /103 → dependsOn 104 → dependsOn 103/,
    );
  });

  it('rejects VMIDs out of range and non-numeric keys', () => {
    const ds = problems(config({ 99: base(), 1000000000: base(), web: base() }));
    expect(ds.map((d) => d.path)).toEqual(['guests.99', 'guests.1000000000', 'guests.web']);
    expect(ds[0]?.fix).toContain('100 to 999999999');
  });

  it('names a cycle through cloneFrom and dependsOn once', () => {
    const ds = problems(
      config({
        900: { ...base(), dependsOn: [102] },
        101: { kind: 'lxc', name: 'a', cloneFrom: 900 },
        102: { kind: 'lxc', name: 'b', cloneFrom: 900, dependsOn: [101] },
        103: { kind: 'lxc', name: 'c', cloneFrom: 900, dependsOn: [103] },
      }),
    );
    const cycles = ds.filter((d) => d.message.startsWith('dependency cycle'));
    // Two distinct cycles, each named once, at the first link of each.
    expect(cycles.map((d) => [d.path, d.message])).toEqual([
      ['guests.900.dependsOn.0', 'dependency cycle: 900 → dependsOn 102 → cloneFrom 900'],
      ['guests.101.cloneFrom', 'dependency cycle: 101 → cloneFrom 900 → dependsOn 102 → dependsOn 101'],
    ]);
    expect(at(ds, 'guests.103.dependsOn.0')[0]?.message).toBe('a guest cannot depend on itself');
  });

  it('rejects a clone whose unprivileged differs from its source, and other clone mistakes', () => {
    const ds = problems(
      config({
        900: base(),
        9000: cloudTemplate(),
        101: {
          kind: 'lxc',
          name: 'a',
          cloneFrom: 900,
          unprivileged: false,
          ostemplate: 'local:vztmpl/x.tar.zst',
        },
        102: { kind: 'lxc', name: 'b', cloneFrom: 900, rootfs: { storage: 'local', sizeGb: 8 } },
        103: { kind: 'lxc', name: 'c', cloneFrom: 9000 },
        104: { kind: 'vm', name: 'd', cloneFrom: 9000, diskGb: 4, image: 'local:import/x.img' },
      }),
    );
    expect(at(ds, 'guests.101.unprivileged')[0]?.message).toContain(
      'Proxmox cannot change it after creation',
    );
    expect(at(ds, 'guests.101.ostemplate')[0]?.message).toContain('does not apply to a clone');
    expect(at(ds, 'guests.102.rootfs.sizeGb')[0]?.message).toContain('a disk can only grow');
    expect(at(ds, 'guests.102.rootfs.storage').map((d) => d.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('does not hold rootdir'),
        expect.stringContaining('linked clone'),
      ]),
    );
    expect(at(ds, 'guests.103.cloneFrom')[0]?.message).toBe(
      'guest 9000 is a VM; an LXC container can only be cloned from an LXC container',
    );
    expect(at(ds, 'guests.104.diskGb')[0]?.message).toContain('a disk can only grow');
    expect(at(ds, 'guests.104.image')[0]?.message).toContain('does not apply to a clone');
  });

  it('checks cloneSnapshot against the source', () => {
    const source = {
      ...base(),
      template: false,
      net: [],
      snapshots: [{ name: 'final-form', after: 'features' }],
    };
    const ok = validateConfig(
      config({ 900: source, 101: { kind: 'lxc', name: 'a', cloneFrom: 900, cloneSnapshot: 'final-form' } }),
      FILE,
    );
    expect(ok.ok ? ok.value.guests.get(101)?.cloneSnapshot : ok.error).toBe('final-form');
    const ds = problems(
      config({
        900: source,
        901: { ...base(), name: 'tmpl', net: [] },
        101: { kind: 'lxc', name: 'a', cloneFrom: 900, cloneSnapshot: 'pre-configured' },
        102: { kind: 'lxc', name: 'b', cloneFrom: 901, cloneSnapshot: 'final-form' },
        103: { ...base(), name: 'c', template: false, net: [], cloneSnapshot: 'final-form' },
      }),
    );
    expect(ds.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'guests.101.cloneSnapshot: guest 900 declares no snapshot "pre-configured"',
      'guests.102.cloneSnapshot: guest 901 is a template, which has no snapshots; a clone of a template is linked to its base',
      'guests.103.cloneSnapshot: is set but the guest is not a clone',
    ]);
    expect(ds[0]?.fix).toBe('use one of "final-form"');
  });

  it('refuses snapshots on a container with bind mounts, naming the mounts and the fix', () => {
    const ds = problems(
      config({
        101: {
          ...base(),
          template: false,
          mounts: [{ hostPath: '/srv/ssl', path: '/etc/ssl/private' }],
          snapshots: [{ name: 'configured', after: 'config' }],
        },
        // ZFS volumes are storage volumes: they can be snapshotted.
        102: {
          ...base(),
          name: 'zfs',
          template: false,
          net: [],
          zfsVolumes: [{ name: 'data', storage: 'quickOS-lxc-disks', sizeGb: 4, path: '/data' }],
          snapshots: [{ name: 'configured', after: 'config' }],
        },
      }),
    );
    expect(ds.map((d) => d.path)).toEqual(['guests.101.snapshots']);
    expect(ds[0]?.message).toContain('bind mounts (/srv/ssl) cannot be snapshotted');
    expect(ds[0]?.fix).toContain('remove the snapshots');
  });

  it('refuses a cloud image Proxmox cannot import, and accepts .qcow2, .raw, .vmdk and host paths', () => {
    const image = (img: string) =>
      problems(config({ 9000: { ...cloudTemplate(), image: img } })).filter(
        (d) => d.path === 'guests.9000.image',
      );
    expect(image('local:import/noble-server-cloudimg-amd64.img')[0]).toMatchObject({
      fix: expect.stringContaining('"local:import/noble-server-cloudimg-amd64.qcow2"'),
    });
    expect(image('local:iso/noble.qcow2')[0]?.message).toContain('not a volume of content import');
    for (const ok of ['local:import/a.qcow2', 'local:import/a.raw', 'local:import/a.vmdk', '/root/a.img'])
      expect(image(ok), ok).toEqual([]);
  });

  it('refuses to clone a container that is not a template without a snapshot (it runs once built)', () => {
    const source = { ...base(), template: false, net: [], snapshots: [{ name: 'ready', after: 'features' }] };
    const ds = problems(config({ 900: source, 101: { kind: 'lxc', name: 'a', cloneFrom: 900 } }));
    expect(ds.map((d) => d.path)).toEqual(['guests.101.cloneFrom']);
    expect(ds[0]?.fix).toContain('add cloneSnapshot: "ready"');
  });

  it('warns that a custom idmap leaves files the root disk already holds as nobody/nogroup, and about unfiltered NICs', () => {
    const r = validateConfig(
      config({
        900: base(),
        101: {
          kind: 'lxc',
          name: 'web',
          cloneFrom: 900,
          idmap: [{ type: 'gid', containerId: 33, hostId: 33, size: 1 }],
          net: [{ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp', firewall: false }],
          firewall: { enabled: true, rules: [] },
        },
      }),
      FILE,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const ws = configWarnings(r.value);
    expect(ws.map((w) => w.path)).toEqual(['guests.101.idmap', 'guests.101.net.0.firewall']);
    expect(ws[0]?.message).toContain('gid 33');
    expect(ws[0]?.message).toContain('nobody/nogroup');
  });

  it('rejects hostnames and snapshot names Proxmox rejects', () => {
    const ds = problems(
      config({
        900: {
          ...base(),
          template: false,
          name: 'my_host',
          snapshots: [{ name: 'current', after: 'config' }],
        },
        901: {
          ...base(),
          template: false,
          name: '-bad-.x',
          net: [],
          snapshots: [{ name: '2025-01-01', after: 'config' }],
        },
        902: {
          ...base(),
          template: false,
          name: 'ok.example',
          net: [],
          snapshots: [
            { name: 'vzdump', after: 'config' },
            { name: 'a'.repeat(41), after: 'config' },
          ],
        },
        9000: {
          ...cloudTemplate(),
          template: false,
          snapshots: [
            { name: 'pending', after: 'config' },
            { name: 'vzdump', after: 'config' },
          ],
        },
      }),
    );
    expect(at(ds, 'guests.900.name')[0]?.message).toContain('"_"');
    expect(at(ds, 'guests.901.name')[0]?.message).toContain('label "-bad-"');
    expect(at(ds, 'guests.900.snapshots.0.name')[0]?.message).toContain('reserved');
    expect(at(ds, 'guests.901.snapshots.0.name')[0]?.message).toContain('must start with a letter');
    expect(at(ds, 'guests.902.snapshots.0.name')[0]?.message).toContain('reserved');
    expect(at(ds, 'guests.902.snapshots.1.name')[0]?.message).toContain('longer than 40');
    expect(at(ds, 'guests.9000.snapshots.0.name')[0]?.message).toContain('reserved');
    expect(at(ds, 'guests.9000.snapshots.1.name')).toEqual([]); // vzdump is a CT-only reservation
  });

  it('finds duplicate IPs, MACs and hostnames across LXC and VM', () => {
    const ds = problems(
      config({
        900: base(),
        101: {
          kind: 'lxc',
          name: 'Copy-Base',
          cloneFrom: 900,
          net: [{ bridge: 'vmbr0', ip: '10.0.0.200/16', hwaddr: '52:54:00:aa:bb:cc' }],
        },
        9000: { ...cloudTemplate(), cloudInit: { user: 'u', ip: '10.0.0.200/24' }, mac: '52:54:00:AA:BB:CC' },
      }),
    );
    // Guests are visited in VMID order; the higher VMID is reported.
    expect(at(ds, 'guests.900.name')[0]?.message).toBe(
      'name "copy-base" is also used by guest 101 (guests.101.name)',
    );
    expect(at(ds, 'guests.900.net.0.ip')[0]?.message).toContain('IP 10.0.0.200 is also used by guest 101');
    expect(at(ds, 'guests.900.net.0.hwaddr')[0]?.message).toContain('is also used by guest 101');
    expect(at(ds, 'guests.9000.cloudInit.ip')[0]?.message).toContain('guest 101');
    expect(at(ds, 'guests.9000.mac')[0]?.message).toContain('guest 101');
  });

  it('rejects a template that is asked to stay running, and snapshots on a template', () => {
    const ds = problems(
      config({
        900: { ...base(), boot: { onboot: true }, snapshots: [{ name: 'final-form', after: 'features' }] },
      }),
    );
    expect(at(ds, 'guests.900.boot.onboot')[0]?.message).toContain('a template is never left running');
    expect(at(ds, 'guests.900.snapshots')[0]?.message).toContain(
      'unable to create template, because CT contains snapshots',
    );
  });

  it('checks idmaps, mounts, sizes, MACs and CIDRs', () => {
    const ds = problems(
      config({
        900: {
          ...base(),
          template: false,
          rootfs: { storage: 'quickOS-lxc-disks', sizeGb: 0 },
          net: [
            { bridge: 'vmbr0', ip: '10.0.0.300/24', hwaddr: '01:00:5E:00:00:01' },
            { bridge: 'vmbr1', ip: '10.0.1.5', gw: '10.0.1.1/24', hwaddr: '52-54-00-00-00-01' },
          ],
          idmap: [
            { type: 'gid', containerId: 33, hostId: 33, size: 1 },
            { type: 'gid', containerId: 30, hostId: 100030, size: 5 },
            { type: 'uid', containerId: 65530, hostId: 1000, size: 10 },
            { type: 'uid', containerId: 0, hostId: 1000, size: 0 },
          ],
          mounts: [
            { hostPath: 'mnt/data', path: '/data' },
            { hostPath: '/mnt/logs', path: 'var/log', owner: { uid: 33, gid: 33 } },
          ],
        },
        901: {
          ...base(),
          name: 'priv',
          template: false,
          net: [],
          unprivileged: false,
          idmap: [{ type: 'uid', containerId: 0, hostId: 0, size: 1 }],
        },
      }),
    );
    expect(at(ds, 'guests.900.rootfs.sizeGb')[0]?.message).toContain('at least');
    expect(at(ds, 'guests.900.net.0.ip')[0]?.message).toContain('not an IPv4 or IPv6 address');
    expect(at(ds, 'guests.900.net.0.hwaddr')[0]?.message).toContain('multicast');
    expect(at(ds, 'guests.900.net.1.ip')[0]?.message).toContain('prefix length');
    expect(at(ds, 'guests.900.net.1.gw')[0]?.message).toContain('not an IP address');
    expect(at(ds, 'guests.900.net.1.hwaddr')[0]?.message).toContain('not a MAC address');
    expect(at(ds, 'guests.900.idmap.1')[0]?.message).toBe('container gids 30..34 overlap entry 0 (33..33)');
    expect(at(ds, 'guests.900.idmap.2.size')[0]?.message).toContain('beyond 65535');
    expect(at(ds, 'guests.900.idmap.3.size')[0]?.message).toContain('at least 1');
    expect(at(ds, 'guests.900.mounts.0.hostPath')[0]?.message).toContain('not an absolute path');
    expect(at(ds, 'guests.900.mounts.1.path')[0]?.fix).toBe('write it from the root: /var/log');
    expect(at(ds, 'guests.901.idmap')[0]?.message).toContain('needs an unprivileged container');
  });

  it('checks bridges, nameservers and tags in Proxmox formats', () => {
    const ds = problems(
      config({
        900: {
          ...base(),
          template: false,
          tags: ['web', '-x'],
          nameserver: '8.8.8.8 dns.google',
          net: [{ bridge: 'vmbr 0', ip: 'dhcp' }],
        },
        9000: {
          ...cloudTemplate(),
          bridge: 'vmbr0!',
          cloudInit: { user: 'u', nameserver: '10.0.0.13;1.1.1.1' },
        },
      }),
    );
    expect(ds.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'guests.900.tags.1: "-x" is not a Proxmox tag (letters, digits, _ - + .)',
      'guests.900.net.0.bridge: "vmbr 0" is not a bridge name like vmbr0',
      'guests.900.nameserver: "8.8.8.8 dns.google" has "dns.google", which is not an IP address',
      'guests.9000.bridge: "vmbr0!" is not a bridge name like vmbr0',
    ]);
  });

  it('checks references to features and storages, and storage content', () => {
    const ds = problems(
      config({
        900: {
          ...base(),
          template: false,
          features: ['base_setup', 'nvidia', 'base_setup'],
          ostemplate: 'nas:vztmpl/x.tar.zst',
          zfsVolumes: [{ name: 'models', storage: 'quickOS-vm-disks', sizeGb: 50, path: '/models' }],
        },
        9000: { ...cloudTemplate(), storage: 'local', image: 'quickOS-vm-disks:import/x.qcow2' },
      }),
    );
    expect(at(ds, 'guests.900.features.1')[0]).toMatchObject({ message: 'feature "nvidia" is not declared' });
    expect(at(ds, 'guests.900.features.2')[0]?.message).toContain('listed twice');
    expect(at(ds, 'guests.900.ostemplate')[0]?.message).toBe('storage "nas" is not declared');
    expect(at(ds, 'guests.900.zfsVolumes.0.storage')[0]?.message).toContain('does not hold rootdir');
    expect(at(ds, 'guests.9000.storage')[0]?.message).toContain('does not hold images');
    expect(at(ds, 'guests.9000.image')[0]?.message).toContain('does not hold import');
  });

  it('requires what a new guest is created from', () => {
    const ds = problems(config({ 900: { kind: 'lxc', name: 'a' }, 9000: { kind: 'vm', name: 'b' } }));
    expect(ds.map((d) => d.path).sort()).toEqual(
      [
        'guests.900.ostemplate',
        'guests.900.rootfs.sizeGb',
        'guests.900.rootfs.storage',
        'guests.9000.bridge',
        'guests.9000.cloudInit.user',
        'guests.9000.image',
        'guests.9000.storage',
      ].sort(),
    );
  });

  it('explains what is not a config', () => {
    expect(problems(42)).toEqual([
      expect.objectContaining({ path: '', message: 'the config must export an object, got number' }),
    ]);
    expect(problems({ guests: { 900: 'x' } })[0]).toMatchObject({
      path: 'guests.900',
      fix: expect.stringContaining('lxc('),
    });
    expect(problems({ guests: { 900: { name: 'x' } } })[0]?.message).toBe('is neither an LXC nor a VM');
    expect(problems({ gusts: {} }).map((d) => d.path)).toEqual(['gusts', 'guests']);
  });

  it('checks scripts only when given a fileExists', () => {
    const raw = config({ 900: { ...base(), template: false, app: { script: 'apps/a.sh' } } });
    expect(validateConfig(raw, FILE).ok).toBe(true);
    const r = validateConfig(raw, FILE, { fileExists: (p) => p === '/srv/phoenix/features/docker.sh' });
    expect(r.ok ? [] : r.error.map((d) => d.path)).toEqual([
      'features.base_setup.script',
      'guests.900.app.script',
    ]);
  });
  it('rejects an empty name as a DNS-name problem', () => {
    const ds = problems(config({ 900: { ...base(), name: '' } }));
    expect(at(ds, 'guests.900.name')).toEqual([
      expect.objectContaining({ message: expect.stringContaining('is empty: Proxmox needs a DNS name') }),
    ]);
    expect(ds).toHaveLength(1);
  });

  it('says NaN, not "number", for a number that is not one', () => {
    expect(at(problems(config({ 900: { ...base(), memoryMb: Number.NaN } })), 'guests.900.memoryMb')).toEqual(
      [expect.objectContaining({ message: 'must be a number, got NaN' })],
    );
  });

  it('refuses line breaks and control characters in values that reach conf files or commands', () => {
    const nl = 'x\ny';
    const ds = problems(
      config({
        900: {
          ...base(),
          template: false,
          searchdomain: `lan\nlxc.hook.pre-start: /tmp/x`,
          rawLxc: ['lxc.mount.auto: sys:rw\nlxc.hook.pre-start: /tmp/x'],
          apparmor: { profile: `unconfined${nl}` },
          mounts: [{ hostPath: '/srv/a', path: `/mnt/a\nb` }],
          firewall: {
            rules: [{ direction: 'in', action: 'ACCEPT', comment: 'ok\nIN ACCEPT -source 0.0.0.0/0' }],
          },
        },
        9000: {
          ...cloudTemplate(),
          cloudInit: { user: `u${nl}`, sshKeys: ['ssh-ed25519 AAAA\u0000'], searchdomain: `a\rb` },
          nfsVolumes: [{ server: `nas${nl}`, export: '/e', mountPoint: '/m', options: `rw${nl}` }],
        },
      }),
    );
    const oneLine = (path: string) => [
      expect.objectContaining({
        path,
        message: expect.stringMatching(/^contains a (line break|control character) \(U\+00/),
      }),
    ];
    for (const path of [
      'guests.900.searchdomain',
      'guests.900.rawLxc.0',
      'guests.900.apparmor.profile',
      'guests.900.mounts.0.path',
      'guests.900.firewall.rules.0.comment',
      'guests.9000.cloudInit.user',
      'guests.9000.cloudInit.sshKeys.0',
      'guests.9000.cloudInit.searchdomain',
      'guests.9000.nfsVolumes.0.server',
      'guests.9000.nfsVolumes.0.options',
    ])
      expect(at(ds, path), path).toEqual(oneLine(path));
    expect(
      at(
        problems(config({ 9000: { ...cloudTemplate(), cloudInit: { user: 'u$(reboot)' } } })),
        'guests.9000.cloudInit.user',
      ),
    ).toEqual([expect.objectContaining({ message: '"u$(reboot)" is not a user name' })]);
    // The message never echoes the value (an SSH key, a password).
    expect(JSON.stringify(ds)).not.toContain('AAAA');
  });

  it('keeps line breaks in descriptions and script arguments (Proxmox escapes notes; args are argv)', () => {
    const r = validateConfig(
      config({
        900: {
          ...base(),
          template: false,
          description: 'line one\nline two',
          featureArgs: ['a\nb'],
          snapshots: [{ name: 'base', after: 'config', description: 'x\ny' }],
        },
      }),
      FILE,
    );
    expect(r.ok ? [] : r.error).toEqual([]);
  });
});
