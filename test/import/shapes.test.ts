// Every shape the legacy files have had, one small input each, through the real importer.
import { describe, expect, it } from 'vitest';
import { type ImportSuccess, importLegacy } from '../../migrations/json-import.js';
import { BASE_TEMPLATE, ct, type LegacyFiles, legacyFolder } from './helpers.js';

async function imp(files: LegacyFiles): Promise<ImportSuccess> {
  const r = await importLegacy([legacyFolder(files)]);
  if (!r.ok) throw new Error(r.error);
  return r;
}
function guest(r: ImportSuccess, vmid: number): Record<string, unknown> {
  const g = r.config.guests.find((x) => x.vmid === vmid);
  if (!g) throw new Error(`no guest ${vmid}`);
  return g.fields;
}
const problems = (r: ImportSuccess) =>
  r.report.entries.flatMap((e) =>
    e.kind === 'problem' ? [`${r.report.place(e.file, e.path)}: ${e.message}`] : [],
  );
const lxcOnly = (configs: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
  lxc: { lxc_configs: configs, ...top },
});

describe('features', () => {
  it('the first shape: a Proxmox feature string becomes pveFeatures', async () => {
    const r = await imp(lxcOnly({ 900: ct({ template: BASE_TEMPLATE, features: 'nesting=1,keyctl=1' }) }));
    expect(guest(r, 900).pveFeatures).toEqual({ nesting: true, keyctl: true });
    expect(guest(r, 900).features).toBeUndefined();
  });

  it('a list of provisioning features becomes features, declared once each, plus pct_options', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({
          template: BASE_TEMPLATE,
          features: ['base_setup', 'docker'],
          pct_options: ['nesting=1', 'mknod=1'],
        }),
      }),
    );
    expect(guest(r, 900).features).toEqual(['base_setup', 'docker']);
    expect(guest(r, 900).pveFeatures).toEqual({ nesting: true, mknod: true });
    expect([...r.config.features.keys()]).toEqual(['base_setup', 'docker']);
    expect(r.config.features.get('docker')?.script).toBe('features/docker.sh');
  });

  it('top-level nvidia settings become the nvidia feature arguments', async () => {
    const r = await imp(
      lxcOnly(
        { 900: ct({ template: BASE_TEMPLATE, features: ['nvidia'], gpu_assignment: '0, 1' }) },
        { nvidia_driver_version: '580.76.05' },
      ),
    );
    expect(r.config.features.get('nvidia')?.args).toEqual(['--driver-version=580.76.05']);
    expect(guest(r, 900).gpus).toEqual([0, 1]);
  });
});

describe('templates and clones', () => {
  it('is_template becomes a native template, and the legacy skip of snapshots on templates is kept', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({ template: BASE_TEMPLATE, is_template: true, enable_lifecycle_snapshots: true }),
        101: ct({
          name: 'web',
          clone_from_ctid: '900',
          enable_lifecycle_snapshots: true,
          application_script: 'web.sh',
        }),
      }),
    );
    expect(guest(r, 900).template).toBe(true);
    expect(guest(r, 900).snapshots).toBeUndefined();
    expect(guest(r, 101).snapshots).toEqual([
      { name: 'pre-configured', after: 'config' },
      { name: 'final-form', after: 'app' },
    ]);
    expect(guest(r, 101).app).toEqual({ script: 'apps/web.sh' });
  });

  it('clone_from_ctid and clone_from_vmid as string or number', async () => {
    const r = await imp({
      lxc: {
        lxc_configs: {
          900: ct({ template: BASE_TEMPLATE }),
          101: ct({ name: 'a', clone_from_ctid: 900 }),
          102: ct({ name: 'b', clone_from_ctid: '900' }),
        },
      },
      vm: {
        vm_defaults: { cores: 2, memory_mb: 2048, storage_pool: 'local-lvm', network_bridge: 'vmbr0' },
        vms: [
          {
            vmid: 9000,
            name: 'tpl',
            is_template: true,
            template_image: 'noble.img',
            user_config: { username: 'u' },
          },
          { vmid: 1001, name: 'one', clone_from_vmid: 9000, user_config: { username: 'u' } },
          { vmid: 1002, name: 'two', clone_from_vmid: '9000', user_config: { username: 'u' } },
        ],
      },
    });
    expect([101, 102].map((id) => guest(r, id).cloneFrom)).toEqual([900, 900]);
    expect([1001, 1002].map((id) => guest(r, id).cloneFrom)).toEqual([9000, 9000]);
    // Proxmox imports only .qcow2/.raw/.vmdk: the .img (a qcow2 file) is renamed, and the report says so.
    expect(guest(r, 9000).image).toBe('local:import/noble.qcow2');
    // vm_defaults fill what the VM leaves out, as the legacy vm-manager did.
    expect(guest(r, 1001)).toMatchObject({ cores: 2, memoryMb: 2048, storage: 'local-lvm', bridge: 'vmbr0' });
  });

  it('template_file with lxc_templates: the vzdump archive becomes a native template and a clone', async () => {
    const r = await imp(
      lxcOnly(
        {
          900: ct({ template: BASE_TEMPLATE }),
          101: ct({ name: 'nginx', template_file: 'nginx-v1.tar.gz' }),
        },
        { lxc_templates: { 'nginx-v1.tar.gz': { source_ctid: '900' } } },
      ),
    );
    expect(guest(r, 900).template).toBe(true);
    expect(guest(r, 101).cloneFrom).toBe(900);
    expect(guest(r, 101).ostemplate).toBeUndefined();
  });

  it('template_file alone: the archive is the OS template, on the legacy template storage', async () => {
    const r = await imp({
      lxc: { lxc_configs: { 101: ct({ name: 'nginx', template_file: 'nginx-v1.tar.gz' }) } },
      hypervisor: {
        zfs: {
          datasets: [
            {
              name: 'shared-iso',
              pool: 'fastData',
              proxmox_storage_type: 'dir',
              proxmox_content_type: 'iso,vztmpl',
            },
          ],
        },
        proxmox_storage_ids: { fastData_shared_iso: 'fastData-shared-iso' },
      },
    });
    expect(guest(r, 101).ostemplate).toBe('fastData-shared-iso:vztmpl/nginx-v1.tar.gz');
    expect(problems(r).join('\n')).toMatch(/created from the archive 'nginx-v1.tar.gz'/);
  });

  it('template_file beside clone_from_ctid is dropped with its reason (the clone is what ran)', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({ template: BASE_TEMPLATE }),
        101: ct({ name: 'n', clone_from_ctid: '900', template_file: 'x.tar.gz' }),
      }),
    );
    expect(guest(r, 101).cloneFrom).toBe(900);
    const dropped = r.report.entries.find(
      (e) => e.kind === 'dropped' && e.path === 'lxc_configs.101.template_file',
    );
    expect(dropped).toBeDefined();
  });

  it('OS templates: absolute paths map to a storage volume id, the storage is declared', async () => {
    const r = await imp({
      lxc: {
        lxc_configs: {
          900: ct({
            template: '/fastData/shared-iso/template/cache/ubuntu.tar.zst',
            storage_pool: 'quickOS-lxc-disks',
          }),
        },
      },
      hypervisor: {
        zfs: {
          datasets: [
            {
              name: 'shared-iso',
              pool: 'fastData',
              proxmox_storage_type: 'dir',
              proxmox_content_type: 'iso,vztmpl',
            },
            {
              name: 'lxc-disks',
              pool: 'quickOS',
              proxmox_storage_type: 'zfspool',
              proxmox_content_type: 'images,rootdir',
            },
          ],
        },
      },
    });
    expect(guest(r, 900).ostemplate).toBe('fastData-shared-iso:vztmpl/ubuntu.tar.zst');
    expect(r.config.storages.get('fastData-shared-iso')).toEqual({
      type: 'dir',
      content: ['vztmpl', 'iso'],
      path: '/fastData/shared-iso',
    });
    expect(r.config.storages.get('quickOS-lxc-disks')).toEqual({
      type: 'zfspool',
      content: ['images', 'rootdir'],
      pool: 'quickOS/lxc-disks',
    });
  });

  it('OS templates: volume ids are kept; /var/lib/vz paths are the local storage', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({ template: BASE_TEMPLATE }),
        901: ct({ name: 'b', template: '/var/lib/vz/template/cache/debian.tar.zst' }),
      }),
    );
    expect(guest(r, 900).ostemplate).toBe(BASE_TEMPLATE);
    expect(guest(r, 901).ostemplate).toBe('local:vztmpl/debian.tar.zst');
    expect(r.config.storages.get('local')?.type).toBe('dir');
  });

  it('the 2025-09 shape: VMs and vm_defaults inside the hypervisor config; a VM without vmid is dropped with a reason', async () => {
    const r = await imp({
      hypervisor: {
        vm_defaults: {
          cores: 4,
          memory_mb: 8192,
          storage_pool: 'local-lvm',
          network_bridge: 'vmbr0',
          template: 'x',
          disk_size_gb: 100,
        },
        vms: [
          { name: 'no-id', cores: 4 },
          {
            vmid: 8000,
            name: 'tpl',
            is_template: true,
            template_image: 'noble.img',
            user_config: { username: 'u' },
          },
        ],
      },
    });
    expect(r.guestCount).toBe(1);
    expect(guest(r, 8000)).toMatchObject({ cores: 4, memoryMb: 8192, template: true });
    const reasons = r.report.entries.flatMap((e) => (e.kind === 'dropped' ? [e.field] : []));
    expect(reasons).toEqual(
      expect.arrayContaining(['vms[] without vmid', 'vm_defaults.template', 'vm_defaults.disk_size_gb']),
    );
  });

  it('the 2025-08 fields: clone_from_template_ctid, static_ip, vllm_* in meta', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({ template: BASE_TEMPLATE }),
        950: ct({
          name: 'v',
          clone_from_template_ctid: '900',
          network_config: { name: 'eth0', bridge: 'vmbr0' },
          static_ip: '10.0.0.50/24',
          vllm_model: 'm',
        }),
      }),
    );
    expect(guest(r, 950).cloneFrom).toBe(900);
    expect((guest(r, 950).net as { ip: string }[])[0]?.ip).toBe('10.0.0.50/24');
    expect(guest(r, 950).meta).toEqual({ vllm_model: 'm' });
  });
});

describe('fields', () => {
  it('lxc_options are normalised; AppArmor lines fold into apparmor; cap.keep lists split', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({
          template: BASE_TEMPLATE,
          apparmor_profile: 'unconfined',
          apparmor_manages_nesting: true,
          lxc_options: [
            'lxc.apparmor.profile=unconfined',
            'lxc.mount.auto:sys:rw',
            'lxc.cgroup2.devices.allow=a',
            'lxc.cap.keep=sys_admin,mknod',
          ],
        }),
      }),
    );
    expect(guest(r, 900).rawLxc).toEqual([
      'lxc.mount.auto: sys:rw',
      'lxc.cgroup2.devices.allow: a',
      'lxc.cap.keep: sys_admin',
      'lxc.cap.keep: mknod',
    ]);
    // The legacy tool added allow_nesting only for profiles other than unconfined.
    expect(guest(r, 900).apparmor).toEqual({ profile: 'unconfined', allowNesting: false });
  });

  it('mount points, id maps, zfs volumes, health check, boot, bootstrap CA, meta', async () => {
    const r = await imp({
      lxc: {
        lxc_configs: {
          900: ct({
            template: BASE_TEMPLATE,
            mount_points: [{ host_path: '/mnt/a', container_path: '/a', owner_uid: 33, owner_gid: 33 }],
            id_maps: [{ type: 'gid', host_id: 33, container_id: 33, size: 1 }],
            zfs_volumes: [{ name: 'models', pool: 'fastData-bulk', size_gb: 50, mount_point: '/models' }],
            health_check: { command: 'curl -fs http://localhost:6333', retries: 5, interval: 5 },
            start_at_boot: true,
            boot_order: 2,
            boot_delay: 5,
            bootstrap_ca_url: 'https://ca:9000',
            traefik_service: { name: 'x', port: 1 },
            portainer_role: 'none',
            mystery_field: 1,
          }),
        },
      },
    });
    const g = guest(r, 900);
    expect(g.mounts).toEqual([{ hostPath: '/mnt/a', path: '/a', owner: { uid: 33, gid: 33 } }]);
    expect(g.idmap).toEqual([{ type: 'gid', containerId: 33, hostId: 33, size: 1 }]);
    expect(g.zfsVolumes).toEqual([{ name: 'models', storage: 'fastData-bulk', sizeGb: 50, path: '/models' }]);
    expect(g.healthCheck).toEqual({ command: 'curl -fs http://localhost:6333', retries: 5, intervalS: 5 });
    expect(g.boot).toEqual({ onboot: true, order: 2, upDelayS: 5, downDelayS: 5 });
    expect(g.featureArgs).toEqual(['--ca-url=https://ca:9000']);
    expect(g.meta).toEqual({
      mystery_field: 1,
      portainer_role: 'none',
      traefik_service: { name: 'x', port: 1 },
    });
    expect(problems(r).join('\n')).toMatch(/unknown legacy field 'mystery_field' kept in meta/);
  });

  it('VM network, NFS volumes, firewall', async () => {
    const r = await imp({
      vm: {
        vms: [
          {
            vmid: 1001,
            name: 'portainer',
            template_image: 'noble.img',
            cores: 2,
            memory_mb: 2048,
            storage_pool: 'local-lvm',
            network_config: { ip: '10.0.0.111/24', gw: '10.0.0.1', nameserver: '10.0.0.13' },
            user_config: { username: 'phoenix_user' },
            volumes: [{ type: 'nfs', server: '10.0.0.13', path: '/exp', mount_point: '/mnt/p' }],
            firewall: {
              enabled: true,
              rules: [{ type: 'in', action: 'accept', proto: 'tcp', port: '9443', comment: 'x' }],
            },
            docker_stacks: ['portainer_service'],
          },
        ],
      },
    });
    const g = guest(r, 1001);
    expect(g.cloudInit).toEqual({
      user: 'phoenix_user',
      ip: '10.0.0.111/24',
      gw: '10.0.0.1',
      nameserver: '10.0.0.13',
    });
    expect(g.nfsVolumes).toEqual([{ server: '10.0.0.13', export: '/exp', mountPoint: '/mnt/p' }]);
    expect(g.firewall).toEqual({
      enabled: true,
      rules: [{ direction: 'in', action: 'ACCEPT', proto: 'tcp', dport: '9443', comment: 'x' }],
    });
    expect(g.meta).toEqual({ docker_stacks: ['portainer_service'] });
  });

  it('dependencies cross LXC and VM', async () => {
    const r = await imp({
      lxc: { lxc_configs: { 900: ct({ template: BASE_TEMPLATE, dependencies: ['1002'] }) } },
      vm: {
        vms: [
          {
            vmid: 1002,
            name: 'vm',
            template_image: 'n.img',
            cores: 1,
            memory_mb: 512,
            storage_pool: 'local-lvm',
            user_config: { username: 'u' },
          },
          {
            vmid: 1003,
            name: 'vm2',
            clone_from_vmid: 1002,
            user_config: { username: 'u' },
            dependencies: [900, '1002'],
          },
        ],
      },
    });
    expect(guest(r, 900).dependsOn).toEqual([1002]);
    expect(guest(r, 1003).dependsOn).toEqual([900, 1002]);
  });
});

describe('drift seen in the wild', () => {
  it('duplicate keys (hypervisor config 7e99781) are reported with their place; the last value wins', async () => {
    const hv = '{\n  "mount_point_base": "/mnt/a",\n  "mount_point_base": "/mnt/pve"\n}\n';
    const r = await imp({ lxc: { lxc_configs: { 900: ct({ template: BASE_TEMPLATE }) } }, hypervisor: hv });
    expect(problems(r)).toContain(
      'phoenix_hypervisor_config.json:3:23: mount_point_base: key appears twice; the last value is used',
    );
  });

  it('a single dependency id instead of a list, an address without prefix, numbers as strings', async () => {
    const r = await imp(
      lxcOnly({
        900: ct({
          template: BASE_TEMPLATE,
          cores: '2',
          network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.9' },
        }),
        901: ct({ name: 'b', clone_from_ctid: 900, dependencies: '900' }),
      }),
    );
    expect(guest(r, 900).cores).toBe(2);
    expect((guest(r, 900).net as { ip: string }[])[0]?.ip).toBe('10.0.0.9/24');
    expect(guest(r, 901).dependsOn).toEqual([900]);
    expect(problems(r).join('\n')).toMatch(/lxc_configs\.901\.dependencies: a single id instead of a list/);
  });
});

describe('VM config history', () => {
  it('093e2b5: snapshots keyed pre_features/post_features, qm_options kept in meta', async () => {
    const r = await imp({
      vm: {
        vms: [
          {
            vmid: 8001,
            name: 'docker-vm-01',
            template_image: 'noble.img',
            cores: 4,
            memory_mb: 8192,
            storage_pool: 'quickOS-vm-disks',
            network_bridge: 'vmbr0',
            user_config: { username: 'phoenix_user' },
            snapshots: { pre_features: true, post_features: true },
            qm_options: ['--balloon 0'],
            portainer_admin_password: 'secret',
          },
        ],
      },
    });
    expect(guest(r, 8001).snapshots).toEqual([
      { name: 'pre-features', after: 'config' },
      { name: 'post-features', after: 'features' },
    ]);
    expect(guest(r, 8001).meta).toEqual({ qm_options: ['--balloon 0'] });
    expect(r.text).not.toContain('secret');
  });

  it('docker_stacks as {name, environment} objects (bb0c80f) are kept in meta as written', async () => {
    const stacks = [{ name: 'qdrant', environment: 'prod' }];
    const r = await imp({
      vm: {
        vms: [
          {
            vmid: 1002,
            name: 'drphoenix',
            template_image: 'n.img',
            cores: 1,
            memory_mb: 512,
            storage_pool: 'local-lvm',
            user_config: { username: 'u' },
            docker_stacks: stacks,
          },
        ],
      },
    });
    expect(guest(r, 1002).meta).toEqual({ docker_stacks: stacks });
  });
});

it('a guest-level comment becomes the Proxmox notes', async () => {
  const r = await imp(lxcOnly({ 900: ct({ template: BASE_TEMPLATE, comment: 'the base image' }) }));
  expect(guest(r, 900).description).toBe('the base image');
  expect(r.text).toMatch(/name: 'ct',\n\s+description: 'the base image',/);
});

it('main-era clones of a non-template source are made from its template_snapshot_name (cloneSnapshot)', async () => {
  const r = await imp(
    lxcOnly({
      900: ct({ template: BASE_TEMPLATE, template_snapshot_name: 'base-snapshot', features: ['base_setup'] }),
      901: ct({ name: 'gpu', clone_from_ctid: '900' }),
    }),
  );
  expect(guest(r, 900).snapshots).toEqual([{ name: 'base-snapshot', after: 'features' }]);
  expect(guest(r, 901).cloneSnapshot).toBe('base-snapshot');
});

it('a firewall rule with a port but no protocol (Proxmox rejects it) is dropped with its place', async () => {
  const r = await imp(
    lxcOnly({
      900: ct({
        template: BASE_TEMPLATE,
        firewall: {
          enabled: true,
          rules: [
            { type: 'in', action: 'ACCEPT', port: '80' },
            { type: 'in', action: 'ACCEPT', proto: 'icmp' },
          ],
        },
      }),
    }),
  );
  expect(guest(r, 900).firewall).toEqual({
    enabled: true,
    rules: [{ direction: 'in', action: 'ACCEPT', proto: 'icmp' }],
  });
  expect(problems(r)).toContainEqual(
    expect.stringMatching(/lxc_configs\.900\.firewall\.rules\[0\]: a port without a protocol/),
  );
});
