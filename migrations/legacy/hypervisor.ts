// The hypervisor config describes the Proxmox host itself (users, disks, shares, DNS...). Phoenix
// declares guests, so almost all of it is dropped, each key with its reason; what guests need
// from it (storages, VM searchdomain, LXC defaults) is read by the mappers.

import { isObject, type Json } from './reader.js';
import type { Report } from './report.js';

const HOST_KEYS: Record<string, string> = {
  version: 'metadata of the legacy file',
  author: 'metadata of the legacy file',
  users: 'the host admin user: host setup, not a guest',
  core_paths: 'paths of the legacy installation',
  timezone: 'host setting',
  network: 'host network (interfaces, NFS server, Portainer endpoints): host setup, not a guest',
  docker: 'Portainer images for the legacy portainer-manager',
  nfs: 'host NFS exports: host setup, not a guest',
  samba: 'host Samba shares: host setup, not a guest',
  tests: 'legacy host test suites',
  nvidia_driver: 'host NVIDIA driver install: host setup',
  behavior: 'legacy runtime flags',
  shared_volumes:
    'orchestrator-era shared volumes, unused by the legacy code at HEAD (firewall nested here is the datacenter firewall)',
  firewall: 'datacenter firewall (cluster.fw): host setup, not a guest',
  portainer_api: 'Portainer credentials: a secret, and not a guest',
  dns_server: 'host DNS server: host setup, not a guest',
  step_ca: 'Step CA naming for the legacy CA scripts (the step_ca feature takes its own settings)',
  $schema: 'editor hint',
};

export interface HypervisorFacts {
  domain?: string;
  lxcDefaults: { cores?: number; memoryMb?: number };
  /** The VM list and defaults of the 2025-09 shape, when they live in this file. */
  vms?: Json[];
  vmDefaults?: Record<string, Json>;
}

export function readHypervisor(
  report: Report,
  file: string,
  hv: Record<string, Json>,
  usedByGuests: { vms: boolean },
): HypervisorFacts {
  const facts: HypervisorFacts = { lxcDefaults: {} };
  for (const key of Object.keys(hv)) {
    const v = hv[key];
    const at = key;
    switch (key) {
      case 'domain_name':
        if (typeof v === 'string') facts.domain = v;
        if (!usedByGuests.vms)
          report.dropped(
            file,
            at,
            key,
            'host DNS domain (used only as the VM searchdomain fallback; no VMs)',
          );
        break;
      case 'zfs':
        report.dropped(file, `${at}.pools`, 'zfs.pools', 'host disks and pools: host setup, not a guest');
        report.mapped(
          file,
          `${at}.datasets`,
          'zfs.datasets',
          'storages',
          'only the ones guests use; type/content from proxmox_storage_type/content_type',
        );
        for (const k of isObject(v) ? Object.keys(v) : []) {
          if (k !== 'pools' && k !== 'datasets')
            report.dropped(file, `${at}.${k}`, `zfs.${k}`, 'host ZFS tuning');
        }
        break;
      case 'proxmox_storage_ids':
        report.mapped(
          file,
          at,
          key,
          'storages (ids)',
          'matched to datasets by the legacy `<pool>_<dataset>` convention',
        );
        break;
      case 'mount_point_base':
        report.mapped(file, at, key, 'storages (template paths)', 'used to recognise template folders');
        break;
      case 'proxmox_defaults': {
        const lxc = isObject(v) && isObject(v.lxc) ? v.lxc : undefined;
        if (lxc && typeof lxc.cores === 'number') facts.lxcDefaults.cores = lxc.cores;
        if (lxc && typeof lxc.memory_mb === 'number') facts.lxcDefaults.memoryMb = lxc.memory_mb;
        report.dropped(
          file,
          at,
          key,
          'unused by the legacy tool (cores/memory_mb only as a fallback for guests without them)',
        );
        break;
      }
      case 'vms':
        if (Array.isArray(v)) facts.vms = v;
        else report.error(file, at, 'expected a list of VMs');
        break;
      case 'vm_defaults':
        if (!isObject(v)) {
          report.error(file, at, 'expected an object');
          break;
        }
        if ('ubuntu_release' in v) {
          report.dropped(
            file,
            `${at}.ubuntu_release`,
            'vm_defaults.ubuntu_release',
            'picked the cloud image download URL; Phoenix uses the image named by each VM',
          );
        }
        if (Object.keys(v).some((k) => k !== 'ubuntu_release')) {
          const { ubuntu_release: _, ...rest } = v;
          facts.vmDefaults = rest;
        }
        break;
      default: {
        const why = HOST_KEYS[key];
        if (why) report.dropped(file, at, key, why);
        else {
          report.dropped(file, at, key, 'unknown hypervisor key: not a guest');
          report.warn(file, at, `unknown hypervisor key '${key}' not imported`);
        }
      }
    }
  }
  return facts;
}

/** The comment block printed at the end of the file: host-level data a user may want to find. */
export function hypervisorTrailer(hv: Record<string, Json> | undefined): string[] {
  if (!hv) return [];
  const lines: string[] = [];
  const keys = Object.keys(hv).filter(
    (k) => k in HOST_KEYS && k !== '$schema' && k !== 'version' && k !== 'author',
  );
  if (keys.length === 0) return [];
  lines.push(
    'Host-level settings of the legacy hypervisor config were not imported: Phoenix declares guests,',
  );
  lines.push('not the host. Set these up on the Proxmox node yourself:');
  for (const k of keys) lines.push(`  ${k}: ${HOST_KEYS[k]}`);
  return lines;
}
