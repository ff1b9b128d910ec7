// Suspicious legacy data is reported with its place and the file is still written; a guest that
// cannot be expressed at all is left out, commented out with its reason, and the rest imports.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_TEMPLATE,
  ct,
  ensureBuilt,
  type LegacyFiles,
  legacyFolder,
  phoenix,
  tempDir,
} from './helpers.js';

beforeAll(() => ensureBuilt());

function run(files: LegacyFiles) {
  const out = join(tempDir(), 'phoenix.config.ts');
  const r = phoenix(['import', legacyFolder(files), '-o', out, '--no-stubs']);
  return { ...r, out, written: existsSync(out) ? readFileSync(out, 'utf8') : undefined };
}
const base = { 900: ct({ name: 'base', template: BASE_TEMPLATE }) };

describe('suspicious data: reported with its place, file still written', () => {
  it('a dependency on an undeclared guest', () => {
    const r = run({
      lxc: {
        lxc_configs: { ...base, 101: ct({ name: 'a', clone_from_ctid: '900', dependencies: ['999'] }) },
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('phoenix_lxc_configs.json:');
    expect(r.stdout).toMatch(
      /lxc_configs\.101\.dependencies\[0\]: guest 999 is not declared; dependency dropped/,
    );
    expect(r.written).toContain('legacy dependency on 999 dropped');
  });

  it('an unprivileged clone of a privileged source', () => {
    const r = run({
      lxc: {
        lxc_configs: {
          900: ct({ name: 'base', template: BASE_TEMPLATE, unprivileged: false }),
          101: ct({ name: 'a', clone_from_ctid: '900', unprivileged: true }),
        },
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /lxc_configs\.101\.unprivileged: an unprivileged clone of a privileged source \(900\)/,
    );
    expect(r.written).toMatch(/101: lxc\(\{[\s\S]*?unprivileged: false/);
  });

  it('hostnames Proxmox rejects are renamed and reported', () => {
    const r = run({ lxc: { lxc_configs: { 900: ct({ name: 'qdrant_lxc', template: BASE_TEMPLATE }) } } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lxc_configs\.900\.name: hostname 'qdrant_lxc' is rejected by Proxmox/);
    expect(r.written).toContain("name: 'qdrant-lxc'");
  });

  it('duplicate MACs and IPs (across LXC and VM): the lower VMID keeps the address', () => {
    const net = { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.101/24', gw: '10.0.0.1' };
    const r = run({
      lxc: {
        lxc_configs: {
          ...base,
          101: ct({
            name: 'a',
            clone_from_ctid: '900',
            network_config: net,
            mac_address: '52:54:00:00:00:01',
          }),
          102: ct({
            name: 'b',
            clone_from_ctid: '900',
            network_config: { ...net, ip: '10.0.0.102/24' },
            mac_address: '52:54:00:00:00:01',
          }),
        },
      },
      vm: {
        vms: [
          {
            vmid: 8001,
            name: 'vm',
            template_image: 'n.img',
            cores: 1,
            memory_mb: 512,
            storage_pool: 'local-lvm',
            user_config: { username: 'u' },
            network_config: { ip: '10.0.0.101/24', gw: '10.0.0.1' },
          },
        ],
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /lxc_configs\.102\.mac_address: MAC address 52:54:00:00:00:01 is also used by 101/,
    );
    expect(r.stdout).toMatch(/vms\[0\]\.network_config\.ip: IP address 10\.0\.0\.101 is also used by 101/);
    expect(r.written).toContain("ip: 'dhcp'");
  });
});

describe('legacy data Proxmox would refuse is adjusted, reported, and the result passes phoenix check', () => {
  it('duplicate names, a privileged id map, snapshots on a dir storage, a clone on another storage, a smaller clone disk', () => {
    const r = run({
      lxc: {
        lxc_configs: {
          900: ct({
            name: 'base',
            template: BASE_TEMPLATE,
            is_template: true,
            storage_pool: 'local-zfs',
            storage_size_gb: 16,
          }),
          101: ct({ name: 'web', clone_from_ctid: '900', storage_pool: 'local-lvm', storage_size_gb: 8 }),
          102: ct({
            name: 'web',
            template: BASE_TEMPLATE,
            unprivileged: false,
            id_maps: [{ type: 'uid', host_id: 1, container_id: 1, size: 1 }],
          }),
          103: ct({
            name: 'dirsnap',
            template: BASE_TEMPLATE,
            storage_pool: 'local',
            enable_lifecycle_snapshots: true,
          }),
        },
      },
      vm: {
        vms: [
          {
            vmid: 9000,
            name: 'tpl',
            is_template: true,
            template_image: 'n.img',
            cores: 1,
            memory_mb: 512,
            storage_pool: 'local-lvm',
            disk_size_gb: 40,
            user_config: { username: 'u' },
          },
          {
            vmid: 9001,
            name: 'small',
            clone_from_vmid: 9000,
            disk_size_gb: 20,
            user_config: { username: 'u' },
          },
        ],
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lxc_configs\.102\.name: name web is also used by 101 .*renamed to 'web-102'/);
    expect(r.stdout).toMatch(/lxc_configs\.102\.id_maps: id_maps on a privileged container/);
    expect(r.stdout).toMatch(
      /lxc_configs\.103: root disk storage 'local' \(dir\) cannot take container snapshots/,
    );
    expect(r.stdout).toMatch(
      /lxc_configs\.101\.storage_pool: storage_pool 'local-lvm' differs from template 900's 'local-zfs'/,
    );
    expect(r.stdout).toMatch(
      /lxc_configs\.101\.storage_size_gb: root disk 8 GB is smaller than its clone source's 16 GB/,
    );
    expect(r.stdout).toMatch(/vms\[1\]\.disk_size_gb: disk 20 GB is smaller than its clone source's 40 GB/);
    const check = phoenix(['check', '-c', r.out]);
    // Only warnings (the image must carry the guest agent), never a problem.
    expect(check.stderr.split('\n').filter((l) => /^\S/.test(l) && !l.startsWith('warning:'))).toEqual([]);
    expect(check.code).toBe(0);
  });
});

describe('no whole-fleet refusal: a guest that cannot be expressed is commented out with its reason', () => {
  const ok = { 950: ct({ name: 'fine', template: BASE_TEMPLATE }) };
  const cases: [string, LegacyFiles, RegExp, string][] = [
    [
      'a clone cycle',
      {
        lxc: {
          lxc_configs: {
            ...ok,
            101: ct({ name: 'a', clone_from_ctid: '102' }),
            102: ct({ name: 'b', clone_from_ctid: '101' }),
          },
        },
      },
      /clone cycle: 101 → 102 → 101/,
      'lxc_configs.101',
    ],
    [
      'one VMID for an LXC and a VM',
      {
        lxc: { lxc_configs: { ...ok, ...base } },
        vm: {
          vms: [
            {
              vmid: 900,
              name: 'vm',
              template_image: 'n.img',
              cores: 1,
              memory_mb: 512,
              storage_pool: 'local-lvm',
              user_config: { username: 'u' },
            },
          ],
        },
      },
      /vms\[0\]: VMID 900 is already declared as an LXC/,
      'vms[0]',
    ],
    [
      'a container with no way to be created',
      { lxc: { lxc_configs: { ...ok, 101: ct() } } },
      /lxc_configs\.101: neither 'clone_from_ctid' nor 'template'/,
      'lxc_configs.101',
    ],
    [
      'a CTID that is not a number',
      { lxc: { lxc_configs: { ...ok, web: ct({ template: BASE_TEMPLATE }) } } },
      /lxc_configs\.web: 'web' is not a CTID/,
      'lxc_configs.web',
    ],
  ];
  it.each(cases)('%s', (_name, files, message, entry) => {
    const r = run(files);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(message);
    expect(r.stdout).toContain(`${entry}: not imported, left commented out`);
    expect(r.written).toContain(`// NOT IMPORTED: ${entry} of`);
    expect(r.written).toContain('950: lxc({');
    const check = phoenix(['check', '-c', r.out]);
    expect(check.code).toBe(0);
  });

  it('the commented-out entry never shows a secret', () => {
    const r = run({ lxc: { lxc_configs: { ...ok, 101: ct({ user_password: 'hunter2' }) } } });
    expect(r.code).toBe(0);
    expect(r.written).toContain('"user_password": "<removed>"');
    expect(r.written).not.toContain('hunter2');
  });
});

describe('old shapes and missing sources import with warnings', () => {
  it('an undeclared clone source becomes cloneFromHost, named in a warning', () => {
    const r = run({ lxc: { lxc_configs: { 101: ct({ clone_from_ctid: '905' }) } } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /warning: .*lxc_configs\.101\.clone_from_ctid: clone source 905 is not declared: imported as cloneFromHost 905/,
    );
    expect(r.written).toMatch(/101: lxc\(\{[\s\S]*?cloneFromHost: 905,/);
    expect(phoenix(['check', '-c', r.out]).code).toBe(0);
  });

  it('network_config as one string ip/cidr,gw,dns', () => {
    const r = run({
      lxc: {
        lxc_configs: {
          900: ct({ template: BASE_TEMPLATE, network_config: '10.0.0.50/24,10.0.0.1,10.0.0.13' }),
        },
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /warning: .*network_config: the old string shape "10\.0\.0\.50\/24,10\.0\.0\.1,10\.0\.0\.13"/,
    );
    expect(r.written).toContain(
      "net: [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.50/24', gw: '10.0.0.1' }],",
    );
    expect(r.written).toContain("nameserver: '10.0.0.13',");
    expect(phoenix(['check', '-c', r.out]).code).toBe(0);
  });

  it('the report lists every guest with what was guessed', () => {
    const r = run({
      lxc: {
        lxc_configs: {
          ...base,
          101: ct({ name: 'a', clone_from_ctid: '905' }),
          102: ct({ name: 'b', clone_from_ctid: '900' }),
        },
      },
    });
    expect(r.code).toBe(0);
    const section = r.stdout.slice(r.stdout.indexOf('Guests (3)'));
    expect(section).toMatch(/ 101 lxc a:\n {4}- clone source 905 is not declared/);
    expect(section).toMatch(/ 900 lxc base:\n/);
    expect(section).toMatch(/ 102 lxc b:\n/);
  });
});

it("the report says what the first build changes where the legacy tool's effect differed from its JSON", () => {
  const rule = { type: 'in', action: 'ACCEPT', source: '10.0.0.1', proto: 'tcp', port: '22', comment: 'ssh' };
  const r = run({
    lxc: {
      lxc_configs: {
        900: ct({
          name: 'base',
          template: BASE_TEMPLATE,
          apparmor_profile: 'unconfined',
          id_maps: [{ type: 'gid', container_id: 33, host_id: 33, size: 1 }],
          firewall: { enabled: true, rules: [rule, rule] },
        }),
      },
    },
  });
  expect(r.code).toBe(0);
  const section = r.stdout.slice(r.stdout.indexOf('What the first Phoenix build changes'));
  expect(section).toMatch(
    /lxc_configs\.900\.apparmor_profile: the legacy tool dropped the `lxc\.apparmor\.profile: unconfined` line/,
  );
  expect(section).toMatch(/lxc_configs\.900\.id_maps: the legacy tool never applied these id_maps/);
  expect(section).toMatch(
    /lxc_configs\.900\.firewall\.rules\[1\]: the legacy tool wrote this duplicate of rules\[0\]/,
  );
  expect(r.written?.match(/source: '10\.0\.0\.1'/g)).toHaveLength(1);
});
