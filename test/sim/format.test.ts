import { describe, expect, it } from 'vitest';
import {
  decodeText,
  encodeText,
  formatSize,
  formatVmlist,
  LXC_MP,
  LXC_NET,
  LXC_ROOTFS,
  parseFirewall,
  parseGuestConf,
  parsePropertyString,
  parseQemuNet,
  parseSize,
  parseStorageCfg,
  printPropertyString,
  printQemuNet,
  serializeFirewall,
  serializeGuestConf,
  serializeStorageCfg,
  withPendingApplied,
} from '../../src/pve/format/index.js';

const LXC = `#my container%3A web
#second line
arch: amd64
cores: 2
features: nesting=1
hostname: web1
memory: 1024
net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:4F:2A:10,ip=dhcp,type=veth
ostype: debian
parent: before-upgrade
rootfs: local-lvm:vm-101-disk-0,size=8G
swap: 512
unprivileged: 1
lxc.idmap: u 0 100000 1005
lxc.idmap: g 0 100000 1005

[pve:pending]
cores: 4

[before-upgrade]
#snapshot comment
arch: amd64
hostname: web1
snaptime: 1735689600
`;

describe('guest conf codec', () => {
  it('round-trips an LXC config byte for byte', () => {
    const conf = parseGuestConf(LXC, 'lxc');
    expect(conf.main.description).toBe('my container: web\nsecond line\n');
    expect(conf.main.lxc).toEqual([
      ['lxc.idmap', 'u 0 100000 1005'],
      ['lxc.idmap', 'g 0 100000 1005'],
    ]);
    expect(conf.pending?.props.cores).toBe('4');
    expect(conf.snapshots['before-upgrade']?.description).toBe('snapshot comment\n');
    expect(serializeGuestConf(conf, 'lxc')).toBe(LXC);
  });

  it('sorts keys, puts raw lxc keys last and accepts `lxc.x = v`', () => {
    const conf = parseGuestConf('memory: 512\nlxc.apparmor.profile = unconfined\narch: amd64\n', 'lxc');
    expect(serializeGuestConf(conf, 'lxc')).toBe(
      'arch: amd64\nmemory: 512\nlxc.apparmor.profile: unconfined\n',
    );
  });

  it('applies pending values and deletions', () => {
    const conf = parseGuestConf('cores: 1\nmemory: 512\n\n[pve:pending]\ncores: 2\ndelete: memory\n', 'lxc');
    expect(withPendingApplied(conf).props).toEqual({ cores: '2' });
  });

  it('writes QEMU sections: pending, special, snapshots', () => {
    const text =
      'name: vm1\n\n[PENDING]\n#\nmemory: 4096\n\n[special:cloudinit]\nciuser: ubuntu\n\n[snap1]\nname: vm1\n';
    expect(serializeGuestConf(parseGuestConf(text, 'qemu'), 'qemu')).toBe(text);
  });
});

describe('values', () => {
  it('escapes descriptions like encode_text', () => {
    expect(encodeText('a: 100% é')).toBe('a%3A 100%25 %C3%A9');
    expect(decodeText('a%3A 100%25 %C3%A9')).toBe('a: 100% é');
  });

  it('parses and formats sizes', () => {
    expect(parseSize('8G')).toBe(8 * 1024 ** 3);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('x')).toBeUndefined();
    expect(formatSize(8 * 1024 ** 3)).toBe('8G');
    expect(formatSize(1.5 * 1024 ** 3)).toBe('1536M');
    expect(formatSize(4 * 1024 ** 4)).toBe('4T');
  });

  it('prints property strings in Proxmox key order', () => {
    expect(printPropertyString({ volume: 'local-lvm:vm-101-disk-0', size: '8G' }, LXC_ROOTFS)).toBe(
      'local-lvm:vm-101-disk-0,size=8G',
    );
    expect(
      printPropertyString(
        { size: '32G', backup: '1', mp: '/data', volume: 'local-lvm:vm-101-disk-1' },
        LXC_MP,
      ),
    ).toBe('local-lvm:vm-101-disk-1,mp=/data,backup=1,size=32G');
    expect(printPropertyString({ type: 'veth', ip: 'dhcp', bridge: 'vmbr0', name: 'eth0' }, LXC_NET)).toBe(
      'name=eth0,bridge=vmbr0,ip=dhcp,type=veth',
    );
    expect(parsePropertyString('local:4,mp=/x', 'volume')).toEqual({
      ok: true,
      value: { volume: 'local:4', mp: '/x' },
    });
    expect(parsePropertyString('a=1,a=2').ok).toBe(false);
    const net = parseQemuNet('virtio=BC:24:11:00:00:01,firewall=1,bridge=vmbr0');
    expect(net && printQemuNet(net)).toBe('virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1');
  });

  it('resolves key aliases like parse_property_string (qemu netN: <model>=<mac>)', () => {
    const fmt = {
      model: {},
      macaddr: {},
      bridge: {},
      virtio: { alias: 'macaddr', keyAlias: 'model' },
      e1000: { alias: 'macaddr', keyAlias: 'model' },
    };
    expect(parsePropertyString('virtio=02:00:00:00:07:01,bridge=vmbr0', 'model', fmt)).toEqual({
      ok: true,
      value: { model: 'virtio', macaddr: '02:00:00:00:07:01', bridge: 'vmbr0' },
    });
    expect(parsePropertyString('e1000,macaddr=02:00:00:00:07:01', 'model', fmt)).toEqual({
      ok: true,
      value: { model: 'e1000', macaddr: '02:00:00:00:07:01' },
    });
    expect(parsePropertyString('model=virtio,virtio=02:00:00:00:07:01', 'model', fmt)).toEqual({
      ok: false,
      error: "key alias 'model' is already defined",
    });
    expect(parsePropertyString('virtio=02:00:00:00:07:01,model=e1000', 'model', fmt)).toEqual({
      ok: false,
      error: 'duplicate key in comma-separated list property: model',
    });
    expect(parsePropertyString('foo=1,bridge=a,bridge=b', 'model', fmt)).toEqual({
      ok: false,
      error: 'invalid key in comma-separated list property: foo',
    });
  });
});

describe('host files', () => {
  it('formats .vmlist like pmxcfs', () => {
    expect(formatVmlist({ version: 3, ids: {} })).toBe('{\n"version": 3\n\n}\n');
    expect(formatVmlist({ version: 57, ids: { '100': { node: 'pve', type: 'lxc', version: 3 } } })).toBe(
      '{\n"version": 57,\n"ids": {\n"100": { "node": "pve", "type": "lxc", "version": 3 }}\n\n}\n',
    );
  });

  it('round-trips storage.cfg', () => {
    const text =
      'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n';
    const parsed = parseStorageCfg(text);
    expect(parsed.map((s) => s.id)).toEqual(['local', 'local-zfs']);
    expect(serializeStorageCfg(parsed)).toBe(text);
  });

  it('round-trips a firewall file', () => {
    const text =
      '[OPTIONS]\n\nenable: 1\npolicy_in: DROP\n\n[RULES]\n\nIN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22 # ssh\n|OUT SSH(ACCEPT) -dest 10.0.0.1\n\n';
    const fw = parseFirewall(text);
    expect(fw.rules[0]).toMatchObject({
      type: 'in',
      action: 'ACCEPT',
      source: '10.0.0.0/24',
      dport: '22',
      comment: 'ssh',
    });
    expect(fw.rules[1]).toMatchObject({ enable: false, macro: 'SSH', action: 'ACCEPT' });
    expect(serializeFirewall(fw)).toBe(text);
  });
});
