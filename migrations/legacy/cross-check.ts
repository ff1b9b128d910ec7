// Checks and fixes that need all guests at once: clone sources and cycles, dependencies,
// privilege and root disks that follow the clone source, archives that become native templates,
// duplicate addresses and names. Data Proxmox would refuse is either adjusted (and reported) or
// reported as an error, which makes the import refuse.

import type { StorageDecl } from '../../src/dsl/model.js';
import { addFieldComment, addInPlaceComment, type GuestExtra, type ImportedGuest } from './ir.js';
import { sanitizeSnapshotName } from './lxc-parts.js';
import { LEGACY_FILE_NAMES } from './read.js';
import type { Report } from './report.js';
import type { StorageCatalog } from './storages.js';

/**
 * A clone whose source is not in the files (made by hand, or dropped from the JSON long ago): it
 * becomes a clone of a guest that must already exist on the host (`cloneFromHost`, which the
 * plan checks), with a warning naming it.
 */
function cloneFromHost(report: Report, e: GuestExtra): void {
  const g = e.guest;
  const from = e.cloneFrom!.vmid;
  report.warn(
    g.file,
    e.cloneFrom!.path,
    `clone source ${from} is not declared: imported as cloneFromHost ${from}, a guest that must already exist on the host (the plan checks it)`,
  );
  g.fields.cloneFromHost = from;
  delete g.fields.cloneFrom;
  addFieldComment(
    g,
    'cloneFromHost',
    `legacy source ${from} is not in the imported files: it must exist on the host`,
  );
}

/** Root disk storage and size of a container, following its clone chain for inherited values. */
function effectiveRootfs(
  e: GuestExtra,
  byId: Map<number, GuestExtra>,
  seen = new Set<number>(),
): { storage?: string; sizeGb?: number } {
  const own = (e.guest.fields.rootfs as { storage?: string; sizeGb?: number } | undefined) ?? {};
  const src = e.cloneFrom ? byId.get(e.cloneFrom.vmid) : undefined;
  if (!src || seen.has(e.guest.vmid)) return { ...own };
  seen.add(e.guest.vmid);
  const up = effectiveRootfs(src, byId, seen);
  return { storage: own.storage ?? up.storage, sizeGb: own.sizeGb ?? up.sizeGb };
}

/** The legacy tool skipped a snapshot when the storage could not take one; Proxmox would refuse it. */
export function dropUnsupportedSnapshots(
  report: Report,
  extras: GuestExtra[],
  decls: Map<string, StorageDecl>,
): void {
  const byId = new Map(extras.map((e) => [e.guest.vmid, e]));
  const snapshotCapable = new Set(['zfspool', 'lvmthin', 'rbd', 'btrfs']);
  for (const e of extras) {
    if (e.guest.kind !== 'lxc' || !e.guest.fields.snapshots) continue;
    const storage = effectiveRootfs(e, byId).storage;
    const type = storage ? decls.get(storage)?.type : undefined;
    if (!type || snapshotCapable.has(type)) continue;
    report.warn(
      e.guest.file,
      e.guest.path,
      `root disk storage '${storage}' (${type}) cannot take container snapshots; snapshots dropped (the legacy tool skipped them too)`,
    );
    delete e.guest.fields.snapshots;
  }
}

/**
 * `pct snapshot` refuses a container with a bind mount: `__snapshot_prepare` dies unless every
 * mount point has the snapshot feature (pve-guest-common AbstractConfig.pm:753), and a host path
 * has none (pve-container LXC/Config.pm:88-113 `has_feature`). The legacy tool's snapshot call
 * failed on these guests; the import drops them where they stood and says why.
 */
export function dropBindMountSnapshots(report: Report, extras: GuestExtra[]): void {
  for (const e of extras) {
    const g = e.guest;
    const snaps = g.fields.snapshots as { name: string }[] | undefined;
    const mounts = g.fields.mounts as unknown[] | undefined;
    if (g.kind !== 'lxc' || !snaps?.length || !mounts?.length || e.isTemplate) continue;
    const names = snaps.map((s) => s.name).join(', ');
    report.warn(
      g.file,
      g.path,
      `snapshots ${names} dropped: Proxmox cannot snapshot a container with bind mounts ("snapshot feature is not available"; pve-guest-common AbstractConfig.pm:753)`,
    );
    delete g.fields.snapshots;
    addInPlaceComment(g, 'snapshots', [
      `legacy snapshots ${names} dropped: Proxmox cannot snapshot a container`,
      'with bind mounts (pve-guest-common AbstractConfig.pm:753, pve-container LXC/Config.pm:88-113)',
    ]);
  }
}

export function crossCheck(
  report: Report,
  extras: GuestExtra[],
  archives: Map<string, { source: number; path: string }>,
  storages: StorageCatalog,
): void {
  const byId = new Map<number, GuestExtra>();
  for (const e of extras) {
    const g = e.guest;
    if (g.vmid < 100 || g.vmid > 999_999_999) {
      report.error(g.file, g.path, `VMID ${g.vmid} is outside Proxmox's range 100–999999999`);
    }
    const other = byId.get(g.vmid);
    if (other) {
      report.error(
        g.file,
        g.path,
        `VMID ${g.vmid} is already declared as ${other.guest.kind === 'lxc' ? 'an LXC' : 'a VM'} at ${other.guest.file}: ${other.guest.path}`,
      );
      continue;
    }
    byId.set(g.vmid, e);
  }

  // --- vzdump archives become native templates
  for (const [name, a] of archives) {
    const src = byId.get(a.source);
    if (src?.guest.kind !== 'lxc') {
      report.warn(
        src?.guest.file ?? LEGACY_FILE_NAMES.lxc,
        a.path,
        `source_ctid ${a.source} is not a declared container; archive not converted`,
      );
      continue;
    }
    if (!src.isTemplate) {
      src.isTemplate = true;
      src.guest.fields.template = true;
      if (src.guest.fields.snapshots) {
        delete src.guest.fields.snapshots;
        report.warn(
          src.guest.file,
          src.guest.path,
          'now a template: its snapshots are dropped (a template takes none)',
        );
      }
      if ((src.guest.fields.boot as { onboot?: boolean } | undefined)?.onboot) delete src.guest.fields.boot;
      addFieldComment(
        src.guest,
        'template',
        `was archived with vzdump as '${name}' (lxc_templates); now a native Proxmox template`,
      );
    }
    report.mapped(
      src.guest.file,
      a.path,
      'lxc_templates.*',
      'template: true on the source',
      'vzdump archive → native template + cloneFrom',
    );
  }
  for (const e of extras) {
    if (!e.templateFile) continue;
    const { name, path } = e.templateFile;
    const g = e.guest;
    const archive = archives.get(name);
    if (e.cloneFrom) {
      report.dropped(
        g.file,
        path,
        'lxc_configs.*.template_file',
        'unused by the legacy code (clone_from_ctid wins); a native template + cloneFrom replaces the vzdump archive',
      );
      addFieldComment(
        g,
        'cloneFrom',
        `legacy template_file '${name}' (a vzdump archive) was unused: the clone is what ran`,
      );
    } else if (archive && byId.get(archive.source)?.guest.kind === 'lxc') {
      e.cloneFrom = { vmid: archive.source, path };
      g.fields.cloneFrom = archive.source;
      delete g.fields.ostemplate;
      report.mapped(
        g.file,
        path,
        'lxc_configs.*.template_file',
        'cloneFrom',
        `archive '${name}' → clone of native template ${archive.source}`,
      );
      addFieldComment(g, 'cloneFrom', `was created from the vzdump archive '${name}' of ${archive.source}`);
    } else if (!g.fields.ostemplate) {
      const id = storages.templateStorageId() ?? 'local';
      storages.use(id, 'vztmpl', g.file, path);
      g.fields.ostemplate = `${id}:vztmpl/${name}`;
      report.mapped(
        g.file,
        path,
        'lxc_configs.*.template_file',
        'ostemplate',
        'a vzdump archive used as the OS template',
      );
      report.warn(
        g.file,
        path,
        `created from the archive '${name}': make sure it exists on '${id}', or declare the guest it was made from as a template and clone it`,
      );
      addFieldComment(g, 'ostemplate', `legacy vzdump archive '${name}' (template_file)`);
    } else {
      report.dropped(
        g.file,
        path,
        'lxc_configs.*.template_file',
        'template (the OS template) takes precedence',
      );
    }
  }

  // --- clone sources
  for (const e of extras) {
    const g = e.guest;
    if (g.kind === 'lxc' && !e.cloneFrom && !g.fields.ostemplate) {
      report.error(
        g.file,
        g.path,
        "neither 'clone_from_ctid' nor 'template': no way to create this container",
      );
    }
    if (!e.cloneFrom) continue;
    const src = byId.get(e.cloneFrom.vmid);
    if (e.cloneFrom.vmid === g.vmid)
      report.error(g.file, e.cloneFrom.path, 'a guest cannot be cloned from itself');
    else if (!src) cloneFromHost(report, e);
    else if (src.guest.kind !== g.kind) {
      report.error(
        g.file,
        e.cloneFrom.path,
        `cannot clone ${g.kind === 'lxc' ? 'a container' : 'a VM'} from ${src.guest.kind === 'lxc' ? 'container' : 'VM'} ${src.guest.vmid}`,
      );
    }
  }
  const cloneCycle = findCycle(
    extras.map((e) => e.guest.vmid),
    (id) => {
      const c = byId.get(id)?.cloneFrom?.vmid;
      return c !== undefined && byId.has(c) ? [c] : [];
    },
  );
  if (cloneCycle) {
    const first = byId.get(cloneCycle[0] ?? 0);
    report.error(
      first?.guest.file ?? '',
      first?.cloneFrom?.path ?? '',
      `clone cycle: ${cloneCycle.join(' → ')}`,
    );
  }

  // --- dependencies
  for (const e of extras) {
    const g = e.guest;
    const keep: number[] = [];
    for (const d of e.deps) {
      if (d.vmid === g.vmid) {
        report.warn(g.file, d.path, 'a guest cannot depend on itself; dropped');
        continue;
      }
      if (!byId.has(d.vmid)) {
        report.warn(g.file, d.path, `guest ${d.vmid} is not declared; dependency dropped`);
        addFieldComment(
          g,
          'dependsOn',
          `legacy dependency on ${d.vmid} dropped: no such guest in the imported files`,
        );
        continue;
      }
      if (!keep.includes(d.vmid)) keep.push(d.vmid);
    }
    e.deps = e.deps.filter((d) => keep.includes(d.vmid));
    if (keep.length > 0) g.fields.dependsOn = keep;
    else delete g.fields.dependsOn;
  }
  if (!cloneCycle) {
    const cycle = findCycle(
      extras.map((e) => e.guest.vmid),
      (id) => {
        const e = byId.get(id);
        if (!e) return [];
        const out = e.deps.map((d) => d.vmid);
        if (e.cloneFrom && byId.has(e.cloneFrom.vmid)) out.push(e.cloneFrom.vmid);
        return out;
      },
    );
    if (cycle) {
      const first = byId.get(cycle[0] ?? 0);
      report.error(
        first?.guest.file ?? '',
        first?.guest.path ?? '',
        `dependency cycle (dependencies and clone sources): ${cycle.join(' → ')}`,
      );
    }
  }

  // --- privilege and root disk follow the clone source
  if (!cloneCycle) {
    const done = new Set<number>();
    const resolve = (e: GuestExtra): void => {
      if (done.has(e.guest.vmid)) return;
      done.add(e.guest.vmid);
      const g = e.guest;
      const src = e.cloneFrom ? byId.get(e.cloneFrom.vmid) : undefined;
      if (g.kind !== 'lxc') return;
      if (src?.guest.kind !== 'lxc') {
        if (e.unprivileged === undefined) {
          report.warn(
            g.file,
            g.path,
            "no 'unprivileged': created privileged (the legacy tool passed --unprivileged 0)",
          );
          addFieldComment(
            g,
            'unprivileged',
            'not set in the legacy config: privileged, as the legacy tool created it',
          );
        }
        return;
      }
      resolve(src);
      const srcMode = src.guest.fields.unprivileged === true;
      if (e.unprivileged === undefined) {
        g.fields.unprivileged = srcMode;
        report.mapped(
          g.file,
          g.path,
          'lxc_configs.*.unprivileged (absent)',
          'unprivileged',
          'inherited from the clone source, as pct clone does',
        );
      } else if (e.unprivileged !== srcMode) {
        report.warn(
          g.file,
          `${g.path}.unprivileged`,
          `${e.unprivileged ? 'an unprivileged clone of a privileged' : 'a privileged clone of an unprivileged'} source (${src.guest.vmid}): a clone keeps its source's mode; imported as ${srcMode ? 'unprivileged' : 'privileged'}`,
        );
        g.fields.unprivileged = srcMode;
        addFieldComment(
          g,
          'unprivileged',
          `legacy said ${e.unprivileged}, but a clone keeps the mode of ${src.guest.vmid}`,
        );
      }
      const rootfs = g.fields.rootfs as { storage?: string; sizeGb?: number } | undefined;
      const srcRoot = effectiveRootfs(src, byId);
      if (rootfs?.sizeGb !== undefined && srcRoot.sizeGb !== undefined && rootfs.sizeGb < srcRoot.sizeGb) {
        report.warn(
          g.file,
          `${g.path}.storage_size_gb`,
          `root disk ${rootfs.sizeGb} GB is smaller than its clone source's ${srcRoot.sizeGb} GB; Proxmox cannot shrink it: imported as ${srcRoot.sizeGb}`,
        );
        rootfs.sizeGb = srcRoot.sizeGb;
      }
      if (
        src.isTemplate &&
        rootfs?.storage !== undefined &&
        srcRoot.storage !== undefined &&
        rootfs.storage !== srcRoot.storage
      ) {
        // A linked clone stays on its template's storage (pct clone of a template, no --full).
        report.warn(
          g.file,
          `${g.path}.storage_pool`,
          `storage_pool '${rootfs.storage}' differs from template ${src.guest.vmid}'s '${srcRoot.storage}'; a linked clone stays on its template's storage`,
        );
        addFieldComment(
          g,
          'rootfs',
          `legacy storage_pool '${rootfs.storage}' dropped: a linked clone stays on the template's storage`,
        );
        delete rootfs.storage;
        if (Object.keys(rootfs).length === 0) delete g.fields.rootfs;
      }
    };
    for (const e of extras) resolve(e);
    for (const e of extras) {
      if (e.idmapDeclared && e.guest.fields.idmap && e.guest.fields.unprivileged !== true) {
        report.warn(
          e.guest.file,
          `${e.guest.path}.id_maps`,
          'id_maps on a privileged container: Proxmox maps ids only for unprivileged ones; dropped',
        );
        delete e.guest.fields.idmap;
        e.guest.fieldComments.set('idmap', [
          'legacy id_maps dropped: Proxmox maps ids only for unprivileged containers',
        ]);
      }
    }
  }

  // --- VM disks only grow
  for (const e of extras) {
    if (e.guest.kind !== 'vm' || e.guest.fields.diskGb === undefined) continue;
    let src = e.cloneFrom ? byId.get(e.cloneFrom.vmid) : undefined;
    const seen = new Set<number>();
    while (src && src.guest.fields.diskGb === undefined && src.cloneFrom && !seen.has(src.guest.vmid)) {
      seen.add(src.guest.vmid);
      src = byId.get(src.cloneFrom.vmid);
    }
    const srcDisk = src?.guest.fields.diskGb as number | undefined;
    if (srcDisk !== undefined && (e.guest.fields.diskGb as number) < srcDisk) {
      report.warn(
        e.guest.file,
        `${e.guest.path}.disk_size_gb`,
        `disk ${e.guest.fields.diskGb} GB is smaller than its clone source's ${srcDisk} GB; imported as ${srcDisk}`,
      );
      e.guest.fields.diskGb = srcDisk;
    }
  }

  // --- templates never run
  for (const e of extras) {
    const boot = e.guest.fields.boot as { onboot?: boolean } | undefined;
    if (e.isTemplate && boot?.onboot) {
      report.warn(e.guest.file, e.guest.path, 'a template never runs: start_at_boot dropped');
      delete e.guest.fields.boot;
    }
  }

  // --- duplicates across guests: the first (lowest VMID) keeps the address, later ones give it up
  duplicates(
    report,
    extras,
    (e) => e.macs.map((m) => ({ key: m.mac, path: m.path, release: m.release })),
    'MAC address',
    'hwaddr',
  );
  duplicates(
    report,
    extras,
    (e) => e.ips.map((m) => ({ key: m.ip, path: m.path, release: m.release })),
    'IP address',
    'net',
  );
  duplicates(
    report,
    extras,
    (e) => {
      const name = e.guest.fields.name;
      if (typeof name !== 'string') return [];
      const release = () => {
        e.guest.fields.name = `${name}-${e.guest.vmid}`;
        return `renamed to '${e.guest.fields.name}'`;
      };
      return [{ key: name.toLowerCase(), path: `${e.guest.path}.name`, release }];
    },
    'name',
    'name',
  );
}

function duplicates(
  report: Report,
  extras: GuestExtra[],
  keys: (e: GuestExtra) => { key: string; path: string; release?: () => string }[],
  what: string,
  field?: string,
): void {
  const seen = new Map<string, { guest: ImportedGuest; path: string }>();
  for (const e of [...extras].sort((a, b) => a.guest.vmid - b.guest.vmid)) {
    const local = new Set<string>();
    for (const { key, path, release } of keys(e)) {
      if (local.has(key)) continue;
      local.add(key);
      const first = seen.get(key);
      if (!first) {
        seen.set(key, { guest: e.guest, path });
        continue;
      }
      const clash = `${what} ${key} is also used by ${first.guest.vmid} (${first.path})`;
      if (release) {
        const done = release();
        report.warn(e.guest.file, path, `${clash}; ${done}`);
        const target =
          field === 'name'
            ? 'name'
            : e.guest.kind === 'vm' && field === 'net'
              ? 'cloudInit'
              : e.guest.kind === 'vm'
                ? 'mac'
                : 'net';
        addFieldComment(
          e.guest,
          target,
          `legacy ${what} ${key} clashes with guest ${first.guest.vmid}: ${done}`,
        );
      } else {
        report.warn(e.guest.file, path, clash);
      }
    }
  }
}

/** A cycle in the graph as a list of ids (first repeated at the end), or undefined. */
function findCycle(nodes: number[], next: (id: number) => number[]): number[] | undefined {
  const state = new Map<number, 'open' | 'done'>();
  const stack: number[] = [];
  const visit = (id: number): number[] | undefined => {
    state.set(id, 'open');
    stack.push(id);
    for (const n of next(id)) {
      const s = state.get(n);
      if (s === 'open') return [...stack.slice(stack.indexOf(n)), n];
      if (s === undefined) {
        const c = visit(n);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of [...nodes].sort((a, b) => a - b)) {
    if (!state.has(id)) {
      const c = visit(id);
      if (c) return c;
    }
  }
  return undefined;
}

/**
 * The legacy tool (main, up to 2b02afc) cloned a non-template source from the snapshot named by the
 * source's `template_snapshot_name` (`pct clone --snapname`): that is `cloneSnapshot`. Runs after the
 * snapshots are final, because a clone may only name a snapshot its source still declares.
 */
export function applyCloneSnapshots(report: Report, extras: GuestExtra[]): void {
  const byId = new Map(extras.map((e) => [e.guest.vmid, e]));
  for (const e of extras) {
    const src = e.cloneFrom ? byId.get(e.cloneFrom.vmid) : undefined;
    if (!src || src.isTemplate || e.guest.kind !== 'lxc' || src.guest.kind !== 'lxc') continue;
    const snaps = (src.guest.fields.snapshots as { name: string; after: string }[] | undefined) ?? [];
    const tsn = src.templateSnapshotName;
    const snap = tsn
      ? (snaps.find((s) => s.name === tsn) ?? snaps.find((s) => s.name === sanitizeSnapshotName(tsn)))
      : undefined;
    if (snap) {
      e.guest.fields.cloneSnapshot = snap.name;
      report.mapped(
        src.guest.file,
        `${src.guest.path}.template_snapshot_name`,
        'lxc_configs.*.template_snapshot_name (of the source)',
        'cloneSnapshot (on its clones)',
        'pct clone --snapname',
      );
      continue;
    }
    if (tsn) {
      report.warn(
        e.guest.file,
        e.cloneFrom?.path ?? e.guest.path,
        `the legacy tool cloned from snapshot '${tsn}' of ${src.guest.vmid}, which is not imported; a clone of a snapshot of its finished state instead`,
      );
      addFieldComment(
        e.guest,
        'cloneFrom',
        `legacy cloned from snapshot '${tsn}' of ${src.guest.vmid} (not imported)`,
      );
    }
    cloneFromSnapshotOf(report, e, src, snaps);
  }
}

/**
 * A source that is not a template is running once Phoenix has built it, and Proxmox fully clones a
 * running container only from a snapshot (pve-container src/PVE/API2/LXC.pm:2086): the clone is
 * made from the source's last snapshot, or from one the import declares for it. A source with
 * bind mounts cannot be snapshotted at all (pve-guest-common src/PVE/AbstractConfig.pm:753), so
 * it is left as the legacy file has it and `phoenix check` explains.
 */
function cloneFromSnapshotOf(
  report: Report,
  e: GuestExtra,
  src: GuestExtra,
  snaps: { name: string; after: string }[],
): void {
  if (((src.guest.fields.mounts as unknown[] | undefined) ?? []).length > 0) return;
  let snap = snaps.at(-1);
  if (!snap) {
    snap = { name: 'clone-source', after: src.guest.fields.app ? 'app' : 'features' };
    src.guest.fields.snapshots = [snap];
    addFieldComment(src.guest, 'snapshots', `declared by the import: ${e.guest.vmid} is cloned from it`);
  }
  e.guest.fields.cloneSnapshot = snap.name;
  report.warn(
    e.guest.file,
    e.cloneFrom?.path ?? e.guest.path,
    `${src.guest.vmid} is not a template and runs once built; Proxmox fully clones a running container only from a snapshot, so ${e.guest.vmid} is cloned from its snapshot '${snap.name}'`,
  );
}
