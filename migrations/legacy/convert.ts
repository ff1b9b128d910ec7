// Legacy inputs → ImportedConfig + report. Pure: no file system, no clock, so importing the same
// input twice gives the same result. Per-guest mapping lives in map-lxc/map-vm; this module does
// what needs all guests at once: clone sources, dependencies, privilege inheritance, archives
// (`template_file`/`lxc_templates`), duplicates, feature declarations.

import type { FeatureDecl } from '../../src/dsl/model.js';
import {
  applyCloneSnapshots,
  crossCheck,
  dropBindMountSnapshots,
  dropUnsupportedSnapshots,
} from './cross-check.js';
import { hypervisorTrailer, readHypervisor } from './hypervisor.js';
import type { CommentedGuest, GuestExtra, ImportedConfig } from './ir.js';
import { mapLxc } from './map-lxc.js';
import { mapVm, type VmDefaults } from './map-vm.js';
import { LEGACY_FILE_NAMES, type LegacyInputs } from './read.js';
import { isObject, type Json, Reader, toInt } from './reader.js';
import { Report } from './report.js';
import { StorageCatalog } from './storages.js';

export interface ConvertResult {
  config: ImportedConfig;
  report: Report;
  /** Guests in the legacy files (LXC entries + VM entries). */
  legacyCount: number;
}

const FEATURE_DESCRIPTIONS: Record<string, string> = {
  base_setup: 'Base OS setup: essential packages, locale, timezone, unattended upgrades',
  docker: 'Docker Engine and the compose plugin from the Docker apt repository',
  docker_proxy: 'Docker API on TCP 2376 with TLS, for Portainer/Traefik (legacy docker_proxy)',
  nvidia: 'NVIDIA userspace driver matching the host, plus the NVIDIA container toolkit',
  ollama: 'Ollama server as a systemd service',
  step_ca: 'Smallstep step-ca certificate authority as a systemd service',
  step_cli: 'Smallstep step CLI',
  traefik: 'Traefik reverse proxy as a systemd service',
  trusted_ca: "Trusts the internal CA's root certificate (system store)",
  vllm: 'vLLM in a Python virtual environment under /opt/vllm',
  python_api_service: 'Python 3 venv tooling for API services',
  portainer: 'Portainer (legacy feature)',
  monitoring: 'Monitoring stack (legacy feature)',
};

const NVIDIA_ARGS: Record<string, string> = {
  nvidia_driver_version: '--driver-version',
  nvidia_runfile_url: '--runfile-url',
  nvidia_repo_url: '--repo-url',
};

/** Legacy entries left out of the config (`file\0entry path` → why), see json-import.ts. */
export type Excluded = Map<string, string[]>;
export const entryKey = (file: string, path: string): string => `${file}\u0000${path}`;

export function convertLegacy(inputs: LegacyInputs, exclude: Excluded = new Map()): ConvertResult {
  const commented: CommentedGuest[] = [];
  const skip = (file: string, path: string, value: Json, vmid?: number): boolean => {
    const reasons = exclude.get(entryKey(file, path));
    if (!reasons) return false;
    commented.push({ file, path, value, reasons, ...(vmid !== undefined ? { vmid } : {}) });
    return true;
  };
  const sources = new Map(
    [inputs.lxc, inputs.vm, inputs.hypervisor].filter((s) => s !== undefined).map((s) => [s.file, s]),
  );
  const report = new Report(sources);
  for (const s of sources.values()) {
    for (const dup of s.duplicateKeys) report.warn(s.file, dup, 'key appears twice; the last value is used');
  }
  for (const f of inputs.ignored)
    report.dropped(f, '', '*.schema.json', 'the legacy tool never validated against its schemas');

  const hvValue = inputs.hypervisor?.value as Record<string, Json> | undefined;
  const hvFile = inputs.hypervisor?.file;
  const storages = new StorageCatalog(report, hvFile, hvValue);
  const vmEntries: { file: string; path: string; value: Json }[] = [];
  let vmDefaults: VmDefaults | undefined;

  const vmTop = inputs.vm?.value as Record<string, Json> | undefined;
  const hvFacts =
    hvValue && hvFile
      ? readHypervisor(report, hvFile, hvValue, { vms: Boolean(vmTop?.vms) || Boolean(hvValue.vms) })
      : {
          lxcDefaults: {} as { cores?: number; memoryMb?: number },
          domain: undefined,
          vms: undefined,
          vmDefaults: undefined,
        };

  if (inputs.vm && vmTop) {
    const file = inputs.vm.file;
    for (const key of Object.keys(vmTop)) {
      if (key === 'vms') {
        const list = vmTop.vms;
        if (!Array.isArray(list)) report.error(file, 'vms', 'expected a list of VMs');
        else
          list.forEach((value, i) => {
            vmEntries.push({ file, path: `vms[${i}]`, value });
          });
      } else if (key === 'vm_defaults') {
        vmDefaults = readVmDefaults(report, file, 'vm_defaults', vmTop.vm_defaults);
      } else if (key === '$schema') report.dropped(file, key, key, 'editor hint');
      else {
        report.dropped(file, key, key, 'unknown top-level key of the VM config');
        report.warn(file, key, `unknown top-level key '${key}' not imported`);
      }
    }
  }
  if (hvFile && hvFacts.vms) {
    if (vmEntries.length > 0) {
      report.warn(
        hvFile,
        'vms',
        `VMs are also declared in ${LEGACY_FILE_NAMES.vm}; these older entries are imported too`,
      );
    }
    hvFacts.vms.forEach((value, i) => {
      vmEntries.push({ file: hvFile, path: `vms[${i}]`, value });
    });
  }
  if (hvFile && hvFacts.vmDefaults && !vmDefaults) {
    vmDefaults = readVmDefaults(report, hvFile, 'vm_defaults', hvFacts.vmDefaults);
  }

  // --- LXC top level
  const extras: GuestExtra[] = [];
  const lxcTop = inputs.lxc?.value as Record<string, Json> | undefined;
  const nvidiaArgs: string[] = [];
  let archives = new Map<string, { source: number; path: string }>();
  let legacyCount = 0;
  if (inputs.lxc && lxcTop) {
    const file = inputs.lxc.file;
    for (const key of Object.keys(lxcTop)) {
      const v = lxcTop[key];
      if (key === 'lxc_configs') continue;
      if (key === '$schema') report.dropped(file, key, key, 'editor hint');
      else if (key in NVIDIA_ARGS) {
        if (typeof v === 'string') nvidiaArgs.push(`${NVIDIA_ARGS[key]}=${v}`);
      } else if (key === 'lxc_templates') archives = readArchives(report, file, v);
      else {
        report.dropped(file, key, key, 'unknown top-level key of the LXC config');
        report.warn(file, key, `unknown top-level key '${key}' not imported`);
      }
    }
    const configs = lxcTop.lxc_configs;
    if (configs === undefined) report.warn(file, '', 'no lxc_configs: no containers');
    else if (!isObject(configs)) report.error(file, 'lxc_configs', 'expected an object keyed by CTID');
    else {
      for (const id of Object.keys(configs)) {
        legacyCount++;
        const path = `lxc_configs.${id}`;
        const entry = configs[id];
        if (entry !== undefined && skip(file, path, entry, /^\d+$/.test(id) ? Number(id) : undefined))
          continue;
        if (!/^\d+$/.test(id)) {
          report.error(file, path, `'${id}' is not a CTID (a number)`);
          continue;
        }
        if (!isObject(entry)) {
          report.error(file, path, 'expected an object describing the container');
          continue;
        }
        const r = new Reader(report, file, path, entry);
        extras.push(mapLxc(r, Number(id), { storages, defaults: hvFacts.lxcDefaults }));
      }
    }
  }
  for (const e of vmEntries) {
    legacyCount++;
    const rawId = isObject(e.value) ? e.value.vmid : undefined;
    if (skip(e.file, e.path, e.value, typeof rawId === 'number' ? rawId : Number(rawId) || undefined))
      continue;
    if (!isObject(e.value)) {
      report.error(e.file, e.path, 'expected an object describing the VM');
      continue;
    }
    const raw = e.value.vmid;
    if (raw === undefined || raw === null) {
      legacyCount--;
      report.dropped(
        e.file,
        e.path,
        'vms[] without vmid',
        'no VMID: the legacy tool could not create it either',
      );
      report.warn(e.file, e.path, `VM ${JSON.stringify(e.value.name ?? '?')} has no vmid; not imported`);
      continue;
    }
    const vmid = toInt(report, e.file, `${e.path}.vmid`, raw);
    if (vmid === undefined) continue;
    const r = new Reader(report, e.file, e.path, e.value);
    extras.push(
      mapVm(r, vmid, {
        storages,
        defaults: vmDefaults,
        ...(hvFacts.domain && hvFile ? { domain: { value: hvFacts.domain, file: hvFile } } : {}),
      }),
    );
  }

  crossCheck(report, extras, archives, storages);

  // --- features used
  const features = new Map<string, FeatureDecl>();
  const used = new Set<string>();
  for (const e of extras)
    for (const f of (e.guest.fields.features as string[] | undefined) ?? []) used.add(f);
  for (const name of [...used].sort()) {
    const decl: FeatureDecl = {
      script: `features/${name}.sh`,
      description: FEATURE_DESCRIPTIONS[name] ?? `Legacy feature '${name}'`,
    };
    if (name === 'nvidia' && nvidiaArgs.length > 0) decl.args = nvidiaArgs;
    features.set(name, decl);
  }
  if (inputs.lxc && lxcTop) {
    for (const key of Object.keys(NVIDIA_ARGS)) {
      if (!(key in lxcTop)) continue;
      if (used.has('nvidia'))
        report.mapped(inputs.lxc.file, key, key, `features.nvidia.args (${NVIDIA_ARGS[key]}=…)`);
      else report.dropped(inputs.lxc.file, key, key, 'no guest uses the nvidia feature');
    }
  }

  const { storages: storageDecls, comments: storageComments } = storages.declare();
  dropUnsupportedSnapshots(report, extras, storageDecls);
  dropBindMountSnapshots(report, extras);
  applyCloneSnapshots(report, extras);
  const guests = extras.map((e) => e.guest).sort((a, b) => a.vmid - b.vmid);
  const files = [inputs.lxc, inputs.vm, inputs.hypervisor].filter((s) => s !== undefined).map((s) => s.file);
  const config: ImportedConfig = {
    header: [
      'Imported from the legacy Phoenix Bash configs by `phoenix import`:',
      ...files.map((f) => `  ${f}`),
      'Comments mark mappings that need a human eye; the import report lists every decision.',
    ],
    node: 'pve',
    nodeComment: [
      'the legacy configs do not name the Proxmox node: set it to your node name (`hostname` on the host)',
    ],
    storages: storageDecls,
    storageComments,
    features,
    guests,
    trailer: hypervisorTrailer(hvValue),
    commented,
  };
  return { config, report, legacyCount };
}

function readVmDefaults(
  report: Report,
  file: string,
  path: string,
  v: Json | undefined,
): VmDefaults | undefined {
  if (!isObject(v)) {
    report.error(file, path, 'expected an object');
    return undefined;
  }
  const r = new Reader(report, file, path, v);
  const d: VmDefaults = { file, path };
  const cores = r.int('cores');
  const mem = r.int('memory_mb');
  const storage = r.str('storage_pool');
  const bridge = r.str('network_bridge');
  if (cores !== undefined) d.cores = cores;
  if (mem !== undefined) d.memoryMb = mem;
  if (storage !== undefined) d.storage = storage;
  if (bridge !== undefined) d.bridge = bridge;
  if (r.has('template')) {
    r.raw('template');
    report.dropped(
      file,
      r.at('template'),
      'vm_defaults.template',
      'never read by the legacy tool (each VM names its image)',
    );
  }
  if (r.has('disk_size_gb')) {
    r.raw('disk_size_gb');
    report.dropped(
      file,
      r.at('disk_size_gb'),
      'vm_defaults.disk_size_gb',
      'never read by the legacy tool; a default would also make clones smaller than templates',
    );
  }
  for (const k of r.rest()) {
    report.dropped(file, r.at(k), `vm_defaults.${k}`, 'not a VM default the legacy tool read');
  }
  return d;
}

function readArchives(
  report: Report,
  file: string,
  v: Json | undefined,
): Map<string, { source: number; path: string }> {
  const out = new Map<string, { source: number; path: string }>();
  if (!isObject(v)) {
    report.error(file, 'lxc_templates', 'expected an object keyed by archive name');
    return out;
  }
  for (const [name, entry] of Object.entries(v)) {
    const path = `lxc_templates[${JSON.stringify(name)}]`;
    const src = isObject(entry) ? entry.source_ctid : undefined;
    const n = src === undefined || src === null ? undefined : toInt(report, file, `${path}.source_ctid`, src);
    if (n === undefined) {
      report.error(file, path, 'an lxc_templates entry needs source_ctid');
      continue;
    }
    out.set(name, { source: n, path });
  }
  return out;
}
