// One legacy `lxc_configs.<ctid>` entry → the `lxc({...})` authoring object.
// Every legacy key is either mapped here, kept in meta by collectMeta, or dropped with a reason.

import type { SnapshotDecl } from '../../src/dsl/model.js';
import {
  collectMeta,
  mapBoot,
  mapDependencies,
  mapDescription,
  mapFeatureList,
  mapFirewall,
  mapHealthCheck,
} from './common.js';
import { addFieldComment, type GuestExtra, type ImportedGuest } from './ir.js';
import {
  dedupeMountPaths,
  mapIdMaps,
  mapLxcOptions,
  mapMountPoints,
  mapNetwork,
  mapZfsVolumes,
  ostemplateFrom,
  vllmArgs,
} from './lxc-fields.js';
import {
  isValidDnsName,
  isValidSnapshotName,
  parseGpus,
  parsePveFeatures,
  sanitizeDnsName,
  sanitizeSnapshotName,
} from './lxc-parts.js';
import { type Reader, toInt } from './reader.js';
import type { StorageCatalog } from './storages.js';

export interface LxcContext {
  storages: StorageCatalog;
  /** Fallback cores/memory from the hypervisor config's `proxmox_defaults.lxc`. */
  defaults: { cores?: number; memoryMb?: number };
}

const S = 'lxc_configs.*';

export function mapLxc(r: Reader, vmid: number, ctx: LxcContext): GuestExtra {
  const report = r.report;
  const guest: ImportedGuest = {
    vmid,
    kind: 'lxc',
    fields: {},
    comments: [],
    fieldComments: new Map(),
    file: r.file,
    path: r.path,
  };
  const f = guest.fields;
  const extra: GuestExtra = { guest, deps: [], isTemplate: false, macs: [], ips: [] };
  const mapped = (key: string, to: string, note?: string) =>
    report.mapped(r.file, r.at(key), `${S}.${key}`, to, note);
  const dropped = (key: string, reason: string) => report.dropped(r.file, r.at(key), `${S}.${key}`, reason);

  // --- identity
  const name = r.str('name');
  if (name === undefined) {
    report.error(r.file, r.path, "guest has no 'name' (the hostname): cannot declare it");
  } else {
    extra.name = name;
    mapped('name', 'name');
    if (isValidDnsName(name)) f.name = name;
    else {
      const fixed = sanitizeDnsName(name);
      f.name = fixed;
      report.warn(
        r.file,
        r.at('name'),
        `hostname '${name}' is rejected by Proxmox (dns-name); imported as '${fixed}'`,
      );
      addFieldComment(guest, 'name', `legacy name '${name}' is not a valid hostname; renamed`);
    }
  }

  const isTemplate = r.bool('is_template') ?? false;
  if (r.has('is_template') || r.value.is_template === null) mapped('is_template', 'template');
  extra.isTemplate = isTemplate;
  if (isTemplate) f.template = true;

  // --- how it is created: clone, OS template, or a vzdump archive
  const cloneKey = r.has('clone_from_ctid')
    ? 'clone_from_ctid'
    : r.has('clone_from_template_ctid')
      ? 'clone_from_template_ctid'
      : undefined;
  if (cloneKey) {
    const v = r.raw(cloneKey);
    const n = v === undefined ? undefined : toInt(report, r.file, r.at(cloneKey), v);
    if (n !== undefined) {
      extra.cloneFrom = { vmid: n, path: r.at(cloneKey) };
      f.cloneFrom = n;
      mapped(cloneKey, 'cloneFrom', 'string or number');
    }
  }
  if (cloneKey !== 'clone_from_template_ctid' && r.has('clone_from_template_ctid')) {
    r.raw('clone_from_template_ctid');
    dropped('clone_from_template_ctid', 'clone_from_ctid takes precedence');
  }
  const template = r.str('template');
  const templateFile = r.str('template_file');
  if (templateFile) extra.templateFile = { name: templateFile, path: r.at('template_file') };
  if (template !== undefined) {
    if (extra.cloneFrom) {
      dropped('template', 'the guest is cloned (clone_from_ctid wins in the legacy tool)');
    } else {
      const os = ostemplateFrom(template, ctx.storages, r, 'template');
      if (os) {
        f.ostemplate = os.volid;
        mapped('template', 'ostemplate', 'path → storage volume id');
        if (os.comment) addFieldComment(guest, 'ostemplate', os.comment);
      }
    }
  }
  // template_file is resolved once all guests are known (it may name an lxc_templates archive).

  // --- privilege: resolved against the clone source later
  const unpriv = r.bool('unprivileged');
  if (unpriv !== undefined) {
    extra.unprivileged = unpriv;
    mapped('unprivileged', 'unprivileged');
  }
  f.unprivileged = unpriv ?? false;

  // --- resources
  const cores = r.int('cores');
  const memory = r.int('memory_mb');
  if (cores !== undefined) mapped('cores', 'cores');
  if (memory !== undefined) mapped('memory_mb', 'memoryMb');
  const coreValue = cores ?? ctx.defaults.cores;
  const memValue = memory ?? ctx.defaults.memoryMb;
  // A clone without its own values inherits them from its source (DSL default), as `pct clone` does.
  const cloned = extra.cloneFrom !== undefined;
  if (cores !== undefined || (!cloned && coreValue !== undefined)) f.cores = coreValue;
  else if (!cloned)
    report.error(r.file, r.path, "no 'cores' and no proxmox_defaults.lxc.cores to fall back on");
  if (memory !== undefined || (!cloned && memValue !== undefined)) f.memoryMb = memValue;
  else if (!cloned)
    report.error(r.file, r.path, "no 'memory_mb' and no proxmox_defaults.lxc.memory_mb to fall back on");
  if (!cloned && cores === undefined && coreValue !== undefined) {
    report.warn(r.file, r.path, `no 'cores': using proxmox_defaults.lxc.cores = ${coreValue}`);
  }
  if (!cloned && memory === undefined && memValue !== undefined) {
    report.warn(r.file, r.path, `no 'memory_mb': using proxmox_defaults.lxc.memory_mb = ${memValue}`);
  }
  const swap = r.int('swap_mb');
  if (swap !== undefined) {
    f.swapMb = swap;
    mapped('swap_mb', 'swapMb', 'the legacy tool never applied it');
    addFieldComment(guest, 'swapMb', 'legacy swap_mb was never applied by the old tool; Phoenix applies it');
  }

  // --- root disk
  const storage = r.str('storage_pool');
  const size = r.int('storage_size_gb');
  if (!cloned && storage === undefined)
    report.error(r.file, r.path, "no 'storage_pool': the root disk has no storage");
  if (!cloned && size === undefined)
    report.error(r.file, r.path, "no 'storage_size_gb': the root disk has no size");
  if (storage !== undefined || size !== undefined) {
    const rootfs: Record<string, unknown> = {};
    if (storage !== undefined) {
      rootfs.storage = storage;
      ctx.storages.use(storage, 'rootdir', r.file, r.at('storage_pool'));
      mapped('storage_pool', 'rootfs.storage');
    }
    if (size !== undefined) {
      rootfs.sizeGb = size;
      mapped('storage_size_gb', 'rootfs.sizeGb');
    }
    f.rootfs = rootfs;
  }

  // --- network
  mapNetwork(r, guest, extra);

  // --- Proxmox features, AppArmor, raw lxc lines
  const pveItems: string[] = [];
  const featuresRaw = r.raw('features');
  let features: string[] = [];
  if (typeof featuresRaw === 'string') {
    // The first shape (ff11a70): `features` was the Proxmox feature string.
    pveItems.push(featuresRaw);
    mapped('features', 'pveFeatures', 'the 2025-08 shape: a Proxmox feature string');
  } else if (Array.isArray(featuresRaw)) {
    features = mapFeatureList(r, featuresRaw, S);
  } else if (featuresRaw !== undefined) {
    report.error(r.file, r.at('features'), 'expected a list of feature names or a Proxmox feature string');
  }
  const pctRaw = r.raw('pct_options');
  const pct = typeof pctRaw === 'string' ? [pctRaw] : pctRaw;
  if (pct !== undefined && !Array.isArray(pct)) {
    report.error(r.file, r.at('pct_options'), 'expected a list like ["nesting=1"]');
  } else if (pct) {
    pct.forEach((item, i) => {
      if (typeof item === 'string') pveItems.push(item);
      else report.error(r.file, `${r.at('pct_options')}[${i}]`, 'expected a string like "nesting=1"');
    });
    if (pct.length > 0) mapped('pct_options', 'pveFeatures');
    else mapped('pct_options', 'pveFeatures', 'empty');
  }
  if (pveItems.length > 0) {
    const parsed = parsePveFeatures(pveItems);
    if (Object.keys(parsed.features).length > 0) f.pveFeatures = parsed.features;
    for (const u of parsed.unknown) {
      report.warn(
        r.file,
        r.at(pct ? 'pct_options' : 'features'),
        `Proxmox feature '${u}' not modelled; kept in meta`,
      );
      const meta = (f.meta as Record<string, unknown> | undefined) ?? {};
      meta.unmapped_pct_options = [...((meta.unmapped_pct_options as string[] | undefined) ?? []), u];
      f.meta = meta;
    }
  }
  mapLxcOptions(r, guest);

  const gpu = r.str('gpu_assignment');
  if (gpu !== undefined) {
    const gpus = parseGpus(gpu);
    if (gpus === undefined)
      report.error(
        r.file,
        r.at('gpu_assignment'),
        `expected "none" or GPU indexes like "0,1", found ${JSON.stringify(gpu)}`,
      );
    else {
      if (gpus.length > 0) f.gpus = gpus;
      mapped('gpu_assignment', 'gpus', '"0, 1" → [0, 1], "none" → []');
    }
  }

  // --- storage beyond the root disk
  extra.idmapDeclared = r.has('id_maps');
  mapIdMaps(r, guest);
  mapMountPoints(r, guest);
  mapZfsVolumes(r, guest, ctx.storages, 'zfs_volumes');
  mapZfsVolumes(r, guest, ctx.storages, 'volumes');
  dedupeMountPaths(r, guest);

  mapBoot(r, guest, S);
  extra.deps = mapDependencies(r, S);

  // --- provisioning
  if (features.length > 0) f.features = features;
  const ca = r.str('bootstrap_ca_url');
  if (ca) {
    f.featureArgs = [`--ca-url=${ca}`];
    mapped('bootstrap_ca_url', 'featureArgs', 'passed to every feature script as --ca-url=<url>');
  }
  const app = r.str('application_script');
  if (app) {
    f.app = { script: `apps/${app}` };
    mapped('application_script', 'app.script', 'apps/<file>');
    const engine = r.obj('vllm_engine_config');
    if (engine) {
      // The legacy vLLM app script read this block from the JSON; ours takes vLLM's own flags.
      const args = vllmArgs(engine.value);
      (f.app as Record<string, unknown>).args = args;
      mapped('vllm_engine_config', 'app.args', 'flattened to vLLM flags (--max-model-len=...)');
      addFieldComment(guest, 'app', 'args: the legacy vllm_engine_config as vLLM command-line flags');
    }
  }

  // --- snapshots (templates: the legacy tool skipped every snapshot on them)
  const lifecycle = r.bool('enable_lifecycle_snapshots');
  const tsn = r.str('template_snapshot_name');
  extra.templateSnapshotName = tsn;
  const snapshots: SnapshotDecl[] = [];
  const finalAfter = app ? 'app' : 'features';
  if (lifecycle) {
    if (isTemplate) {
      dropped('enable_lifecycle_snapshots', 'the legacy tool takes no snapshots of templates (is_template)');
    } else {
      snapshots.push({ name: 'pre-configured', after: 'config' }, { name: 'final-form', after: finalAfter });
      mapped(
        'enable_lifecycle_snapshots',
        'snapshots',
        `pre-configured (after config), final-form (after ${finalAfter})`,
      );
    }
  } else if (lifecycle === false) {
    mapped('enable_lifecycle_snapshots', 'snapshots', 'false: none');
  }
  if (tsn !== undefined) {
    if (isTemplate) {
      dropped('template_snapshot_name', 'the legacy tool takes no snapshots of templates (is_template)');
    } else {
      let snapName = tsn;
      if (!isValidSnapshotName(tsn)) {
        snapName = sanitizeSnapshotName(tsn);
        report.warn(
          r.file,
          r.at('template_snapshot_name'),
          `'${tsn}' is not a valid Proxmox snapshot name; imported as '${snapName}'`,
        );
      }
      if (!snapshots.some((s) => s.name === snapName)) snapshots.push({ name: snapName, after: finalAfter });
      mapped('template_snapshot_name', 'snapshots[]', `after ${finalAfter}`);
    }
  }
  if (snapshots.length > 0) f.snapshots = snapshots;

  mapHealthCheck(r, guest, S);
  const fwEnabled = mapFirewall(r, guest, `${S}.firewall`);
  if (fwEnabled) {
    // The legacy tool put `firewall=1` on the interfaces of a guest whose firewall is enabled.
    for (const n of (f.net as Record<string, unknown>[] | undefined) ?? []) n.firewall = true;
  }

  // apparmor keys are read by mapLxcOptions; template_file after all guests are known.
  r.consume('template_file');
  mapDescription(r, guest, S);
  collectMeta(r, guest, (k) => `${S}.${k}`);
  return extra;
}
