// Third pass: rules that need more than one field — references between guests, features and
// storages; dependency cycles; things Proxmox would refuse only halfway through a build (a clone
// that must keep its source's `unprivileged`, snapshots on a storage that cannot take them, a
// template that is also asked to run); and duplicates that would collide on the network.
import type { Config, Guest, IdMapDecl, LxcGuest, StorageDecl, VmGuest, Vmid } from './model.js';
import {
  cloudImageProblem,
  dnsNameProblem,
  NO_CT_LINKED_CLONES,
  NO_CT_SNAPSHOTS,
  snapshotNameProblem,
  staticAddress,
  suggestDnsName,
  volumeStorage,
} from './pve-formats.js';
import { closest, type Reader } from './reader.js';
import type { ParsedGuest } from './shape.js';

const gp = (g: Guest, ...rest: (string | number)[]) => ['guests', g.vmid, ...rest].join('.');

export function checkSemantics(config: Config, parsed: ParsedGuest[], r: Reader): void {
  const explicit = new Map(parsed.map((p) => [p.vmid, p.spec]));
  checkStorageNodes(config, r);
  for (const g of config.guests.values()) {
    checkNode(g, config, explicit.get(g.vmid)?.node !== undefined, r);
    checkNames(g, r);
    checkFeatures(g, config, r);
    checkStorages(g, config, r);
    checkDependsOn(g, config, r);
    checkSnapshots(g, config, r);
    checkTemplate(g, r);
    checkClone(g, config, (explicit.get(g.vmid) as { unprivileged?: boolean } | undefined)?.unprivileged, r);
    if (g.kind === 'lxc') checkLxc(g, r);
    else checkVm(g, r);
  }
  checkCycles(config, r);
  checkDuplicates(config, r);
}

function checkNames(g: Guest, r: Reader): void {
  const bad = dnsNameProblem(g.name);
  if (bad && g.name !== '') {
    r.problem(gp(g, 'name'), `"${g.name}" ${bad}`, `use a DNS name, e.g. "${suggestDnsName(g.name)}"`);
  }
  if (g.description !== undefined && Buffer.byteLength(g.description) > 8192) {
    r.problem(gp(g, 'description'), 'is longer than Proxmox allows (8 KiB)', 'shorten it');
  }
}

function checkFeatures(g: Guest, config: Config, r: Reader): void {
  const declared = Object.keys(config.features);
  const seen = new Set<string>();
  g.features.forEach((name, i) => {
    if (seen.has(name))
      r.problem(gp(g, 'features', i), `feature "${name}" is listed twice`, 'remove the repeat');
    seen.add(name);
    if (config.features[name]) return;
    const near = closest(name, declared);
    r.problem(
      gp(g, 'features', i),
      `feature "${name}" is not declared`,
      near ? `did you mean "${near}"?` : `declare it under features: { ${name}: { script: '...' } }`,
    );
  });
}

/** Declared node names, for messages: `pve1, pve2, pve3`. */
const declaredNodes = (config: Config) => Object.keys(config.nodes ?? {});

/** A guest's `node` is one of the declared `nodes` (a single-node config takes any name). */
function checkNode(g: Guest, config: Config, written: boolean, r: Reader): void {
  const names = declaredNodes(config);
  if (!names.length || !g.node || names.includes(g.node) || !written) return;
  const near = closest(g.node, names);
  r.problem(
    gp(g, 'node'),
    `node '${g.node}' is not declared (declared: ${names.join(', ')})`,
    near ? `did you mean '${near}'?` : `declare it under nodes: { ${g.node}: 'ssh://root@${g.node}' }`,
  );
}

function checkStorageNodes(config: Config, r: Reader): void {
  const names = declaredNodes(config);
  for (const [id, s] of Object.entries(config.storages)) {
    s.nodes?.forEach((n, i) => {
      if (names.length && !names.includes(n))
        r.problem(
          ['storages', id, 'nodes', i].join('.'),
          `node '${n}' is not declared (declared: ${names.join(', ')})`,
          'list declared nodes only, as storage.cfg `nodes` does',
        );
    });
  }
}

/**
 * A storage limited to some nodes (storage.cfg `nodes`) cannot hold a guest on another node:
 * Proxmox refuses to allocate there (pve-storage src/PVE/Storage.pm `storage_check_node`).
 */
function storageOnNode(path: string, id: string, s: StorageDecl, g: Guest, r: Reader): void {
  if (!g.node || !s.nodes || s.nodes.includes(g.node)) return;
  const on = s.nodes.join(' or ');
  r.problem(
    path,
    `storage '${id}' is not available on node '${g.node}' (its nodes: ${s.nodes.join(', ')})`,
    `use a storage available on ${g.node} (or a shared one), or move the guest to ${on}`,
  );
}

function storageRef(
  path: string,
  id: string,
  need: readonly string[],
  config: Config,
  r: Reader,
  g?: Guest,
): StorageDecl | undefined {
  const s = config.storages[id];
  if (s && g) storageOnNode(path, id, s, g, r);
  if (!s) {
    const near = closest(id, Object.keys(config.storages));
    r.problem(
      path,
      `storage "${id}" is not declared`,
      near
        ? `did you mean "${near}"?`
        : `declare it under storages: { '${id}': { type: ..., content: [...] } }`,
    );
    return undefined;
  }
  if (need.length > 0 && !need.some((c) => s.content.includes(c as never))) {
    r.problem(
      path,
      `storage "${id}" does not hold ${need.join(' or ')} (its content: ${s.content.join(', ') || 'none'})`,
      `use a storage with content ${need[0]}, or add it to storages.${id}.content`,
    );
  }
  return s;
}

/** A clone on its source's storage shares its source's storage problems: reported once, at the source. */
function sameStorageAsSource(g: Guest, config: Config, r: Reader): void {
  const src = g.cloneFrom !== undefined ? config.guests.get(g.cloneFrom) : undefined;
  if (g.kind === 'lxc' && src?.kind === 'lxc' && g.rootfs.storage === src.rootfs.storage)
    r.follows(gp(g, 'rootfs', 'storage'), gp(src, 'rootfs', 'storage'));
  if (g.kind === 'vm' && src?.kind === 'vm' && g.storage === src.storage)
    r.follows(gp(g, 'storage'), gp(src, 'storage'));
}

function checkStorages(g: Guest, config: Config, r: Reader): void {
  sameStorageAsSource(g, config, r);
  if (g.kind === 'lxc') {
    if (g.rootfs.storage) storageRef(gp(g, 'rootfs', 'storage'), g.rootfs.storage, ['rootdir'], config, r, g);
    g.zfsVolumes.forEach((v, i) => {
      storageRef(gp(g, 'zfsVolumes', i, 'storage'), v.storage, ['rootdir'], config, r, g);
    });
    const tmpl = g.ostemplate && volumeStorage(g.ostemplate);
    if (tmpl) storageRef(gp(g, 'ostemplate'), tmpl, ['vztmpl'], config, r, g);
  } else {
    if (g.storage) storageRef(gp(g, 'storage'), g.storage, ['images'], config, r, g);
    const bad = g.image ? cloudImageProblem(g.image) : undefined;
    if (bad) r.problem(gp(g, 'image'), bad.message, bad.fix);
    const img = g.image && volumeStorage(g.image);
    if (img && !bad) storageRef(gp(g, 'image'), img, ['import'], config, r, g);
  }
}

function checkDependsOn(g: Guest, config: Config, r: Reader): void {
  const seen = new Set<Vmid>();
  g.dependsOn.forEach((id, i) => {
    const path = gp(g, 'dependsOn', i);
    if (id === g.vmid) r.problem(path, 'a guest cannot depend on itself', `remove ${id}`);
    else if (!config.guests.has(id)) {
      r.problem(
        path,
        `guest ${id} is not declared`,
        `declare guest ${id} under guests, or remove it from dependsOn`,
      );
    } else if (seen.has(id)) r.problem(path, `guest ${id} is listed twice`, 'remove the repeat');
    seen.add(id);
  });
}

function checkSnapshots(g: Guest, config: Config, r: Reader): void {
  const seen = new Set<string>();
  g.snapshots.forEach((s, i) => {
    const bad = snapshotNameProblem(s.name, g.kind);
    if (bad)
      r.problem(
        gp(g, 'snapshots', i, 'name'),
        `"${s.name}" ${bad}`,
        'use a name like "final-form" or "after_features"',
      );
    if (seen.has(s.name.toLowerCase())) {
      r.problem(
        gp(g, 'snapshots', i, 'name'),
        `snapshot "${s.name}" is declared twice`,
        'give each snapshot its own name',
      );
    }
    seen.add(s.name.toLowerCase());
    if (s.after === 'app' && !g.app) {
      r.problem(
        gp(g, 'snapshots', i, 'after'),
        '"app" but this guest has no app',
        'use after: "features", or add an app',
      );
    }
  });
  if (g.snapshots.length === 0) return;
  if (g.template) {
    // pve-container and qemu-server both refuse before converting (pve-container API2/LXC.pm
    // template, qemu-server API2/Qemu.pm template: "unable to create template, because ... contains snapshots").
    const who =
      g.kind === 'lxc'
        ? 'pct template refuses ("unable to create template, because CT contains snapshots")'
        : 'qm template refuses ("unable to create template, because VM contains snapshots")';
    r.problem(
      gp(g, 'snapshots'),
      `a template cannot have snapshots: ${who}`,
      'take lifecycle snapshots on the clones, or drop template: true',
    );
  }
  if (g.kind === 'lxc' && g.mounts.length > 0 && !g.template) {
    // `__snapshot_prepare` dies unless every mount point has the snapshot feature
    // (pve-guest-common AbstractConfig.pm:753-756), and LXC's `has_feature` walks every mount point,
    // bind mounts included (pve-container LXC/Config.pm:88-113); a host path has no storage feature
    // (pve-storage Storage.pm:502-516). Only vzdump's own snapshot skips them.
    const paths = g.mounts.map((m) => m.hostPath).join(', ');
    r.problem(
      gp(g, 'snapshots'),
      `a container with bind mounts (${paths}) cannot be snapshotted: pct snapshot refuses ("snapshot feature is not available")`,
      'remove the snapshots of this guest, or replace its bind mounts with zfsVolumes',
    );
  }
  if (g.kind === 'lxc') {
    const type = config.storages[g.rootfs.storage]?.type;
    if (type && NO_CT_SNAPSHOTS.has(type)) {
      r.problem(
        gp(g, 'snapshots'),
        `the root disk is on "${g.rootfs.storage}" (${type}), which cannot take container snapshots`,
        'put rootfs on a zfspool, lvmthin, rbd or btrfs storage, or remove the snapshots',
      );
    }
  }
}

function checkTemplate(g: Guest, r: Reader): void {
  if (g.template && g.boot.onboot) {
    r.problem(
      gp(g, 'boot', 'onboot'),
      'a template is never left running, but onboot asks Proxmox to start it at boot',
      'set boot.onboot to false, or drop template: true',
    );
  }
}

function checkClone(g: Guest, config: Config, givenUnprivileged: boolean | undefined, r: Reader): void {
  if (g.cloneFrom === undefined) {
    if (g.cloneSnapshot !== undefined) {
      r.problem(
        gp(g, 'cloneSnapshot'),
        'is set but the guest is not a clone',
        'add cloneFrom, or remove cloneSnapshot',
      );
    }
    return;
  }
  const src = config.guests.get(g.cloneFrom);
  if (!src || src.kind !== g.kind || src.vmid === g.vmid) return; // reported by resolve
  if (g.cloneSnapshot !== undefined) {
    if (src.template) {
      r.problem(
        gp(g, 'cloneSnapshot'),
        `guest ${src.vmid} is a template, which has no snapshots; a clone of a template is linked to its base`,
        'remove cloneSnapshot',
        gp(src, 'snapshots'),
      );
    } else if (!src.snapshots.some((s) => s.name === g.cloneSnapshot)) {
      const names = src.snapshots.map((s) => `"${s.name}"`).join(', ');
      r.problem(
        gp(g, 'cloneSnapshot'),
        `guest ${src.vmid} declares no snapshot "${g.cloneSnapshot}"`,
        names ? `use one of ${names}` : `declare it in guests.${src.vmid}.snapshots`,
        gp(src, 'snapshots'),
      );
    }
  }
  if (g.kind === 'lxc' && src.kind === 'lxc') {
    if (!src.template && g.cloneSnapshot === undefined && src.mounts.length === 0) {
      // A clone waits for its source's whole build, which leaves a non-template CT running.
      r.problem(
        gp(g, 'cloneFrom'),
        `guest ${src.vmid} is not a template, so it is running once built; Proxmox fully clones a running container only from a snapshot (pve-container API2/LXC.pm:2086)`,
        src.snapshots.length
          ? `add cloneSnapshot: "${src.snapshots[0]!.name}" (one of guest ${src.vmid}'s snapshots), or declare guest ${src.vmid} template: true`
          : `declare guest ${src.vmid} template: true, or give it a snapshot and set cloneSnapshot`,
      );
    }
    if (givenUnprivileged !== undefined && givenUnprivileged !== src.unprivileged) {
      r.problem(
        gp(g, 'unprivileged'),
        `is ${givenUnprivileged}, but its clone source ${src.vmid} is ${src.unprivileged}; Proxmox cannot change it after creation and a clone keeps its source's`,
        `remove unprivileged (it is inherited), or clone from a ${givenUnprivileged ? 'unprivileged' : 'privileged'} source`,
        gp(src, 'unprivileged'),
      );
    }
    if (src.mounts.length > 0) {
      r.problem(
        gp(g, 'cloneFrom'),
        `guest ${src.vmid} has bind mounts, which pct clone cannot copy ("unable to clone mountpoint ... (type bind)")`,
        `move the mounts from guest ${src.vmid} to its clones`,
      );
    }
    if (g.rootfs.sizeGb < src.rootfs.sizeGb) {
      r.problem(
        gp(g, 'rootfs', 'sizeGb'),
        `is ${g.rootfs.sizeGb} GiB, smaller than its source ${src.vmid} (${src.rootfs.sizeGb} GiB); a disk can only grow`,
        `use at least ${src.rootfs.sizeGb}, or omit it to inherit`,
        gp(src, 'rootfs', 'sizeGb'),
      );
    }
    if (src.template) {
      if (g.rootfs.storage !== src.rootfs.storage) {
        r.problem(
          gp(g, 'rootfs', 'storage'),
          `is "${g.rootfs.storage}", but a linked clone of template ${src.vmid} stays on its storage "${src.rootfs.storage}"`,
          'omit rootfs.storage (it is inherited)',
          gp(src, 'rootfs', 'storage'),
        );
      }
      const type = config.storages[src.rootfs.storage]?.type;
      if (type && NO_CT_LINKED_CLONES.has(type)) {
        r.problem(
          gp(g, 'cloneFrom'),
          `template ${src.vmid} is on "${src.rootfs.storage}" (${type}), where Proxmox cannot make linked clones of containers`,
          `put template ${src.vmid}'s rootfs on a zfspool, lvmthin or rbd storage`,
          gp(src, 'rootfs', 'storage'),
        );
      }
    }
  }
  if (
    g.kind === 'vm' &&
    src.kind === 'vm' &&
    g.diskGb !== undefined &&
    src.diskGb !== undefined &&
    g.diskGb < src.diskGb
  ) {
    r.problem(
      gp(g, 'diskGb'),
      `is ${g.diskGb} GiB, smaller than its source ${src.vmid} (${src.diskGb} GiB); a disk can only grow`,
      `use at least ${src.diskGb}, or omit it to inherit`,
      gp(src, 'diskGb'),
    );
  }
}

function overlaps(a: IdMapDecl, b: IdMapDecl, side: 'containerId' | 'hostId'): boolean {
  return a[side] < b[side] + b.size && b[side] < a[side] + a.size;
}

function checkLxc(g: LxcGuest, r: Reader): void {
  g.idmap.forEach((m, i) => {
    for (let j = 0; j < i; j++) {
      const o = g.idmap[j]!;
      if (o.type !== m.type) continue;
      for (const side of ['containerId', 'hostId'] as const) {
        if (!overlaps(m, o, side)) continue;
        const what = side === 'containerId' ? 'container' : 'host';
        r.problem(
          gp(g, 'idmap', i),
          `${what} ${m.type}s ${m[side]}..${m[side] + m.size - 1} overlap entry ${j} (${o[side]}..${o[side] + o.size - 1})`,
          'each container and host id may appear in one entry per type',
        );
      }
    }
  });
  if (g.idmap.length > 0 && !g.unprivileged) {
    r.problem(
      gp(g, 'idmap'),
      'a custom idmap needs an unprivileged container (Proxmox treats a mapped container as unprivileged)',
      'set unprivileged: true, or remove idmap',
    );
  }
  const mountPoints = new Map<string, string>();
  const seeMount = (path: string, at: string) => {
    const other = mountPoints.get(path);
    if (other) r.problem(at, `mount point ${path} is also used by ${other}`, 'mount each path once');
    else mountPoints.set(path, at);
  };
  for (const [i, m] of g.mounts.entries()) seeMount(m.path, gp(g, 'mounts', i, 'path'));
  const volumeNames = new Set<string>();
  g.zfsVolumes.forEach((v, i) => {
    seeMount(v.path, gp(g, 'zfsVolumes', i, 'path'));
    if (volumeNames.has(v.name))
      r.problem(gp(g, 'zfsVolumes', i, 'name'), `volume "${v.name}" is declared twice`);
    volumeNames.add(v.name);
  });
  if (g.mounts.length + g.zfsVolumes.length > 256) {
    r.problem(gp(g, 'mounts'), 'more than 256 mount points (mp0..mp255)');
  }
  const indexes = new Map<number, number>();
  const names = new Map<string, number>();
  g.net.forEach((n, i) => {
    const at = indexes.get(n.index);
    if (at !== undefined)
      r.problem(
        gp(g, 'net', i, 'index'),
        `net${n.index} is also net entry ${at}`,
        'give each interface its own index',
      );
    indexes.set(n.index, i);
    const named = names.get(n.name);
    if (named !== undefined)
      r.problem(gp(g, 'net', i, 'name'), `interface ${n.name} is also net entry ${named}`);
    names.set(n.name, i);
  });
  const gpus = new Set<number>();
  g.gpus.forEach((x, i) => {
    if (gpus.has(x)) r.problem(gp(g, 'gpus', i), `GPU ${x} is listed twice`);
    gpus.add(x);
  });
}

function checkVm(g: VmGuest, r: Reader): void {
  const seen = new Set<string>();
  g.nfsVolumes.forEach((v, i) => {
    if (seen.has(v.mountPoint))
      r.problem(gp(g, 'nfsVolumes', i, 'mountPoint'), `${v.mountPoint} is mounted twice`);
    seen.add(v.mountPoint);
  });
}

/** Cycles over `dependsOn` and `cloneFrom` together: either edge makes one guest wait for the other. */
function checkCycles(config: Config, r: Reader): void {
  const edges = (g: Guest) => [
    ...(g.cloneFrom !== undefined && config.guests.get(g.cloneFrom)?.kind === g.kind
      ? [{ to: g.cloneFrom, via: 'cloneFrom', field: 'cloneFrom' }]
      : []),
    ...g.dependsOn.flatMap((d, i) =>
      d !== g.vmid && config.guests.has(d) ? [{ to: d, via: 'dependsOn', field: `dependsOn.${i}` }] : [],
    ),
  ];
  const state = new Map<Vmid, 'open' | 'done'>();
  const stack: { id: Vmid; via: string; field: string }[] = [];
  const reported = new Set<string>();
  const visit = (id: Vmid, via: string, field: string) => {
    const s = state.get(id);
    if (s === 'done') return;
    if (s === 'open') {
      const start = stack.findIndex((f) => f.id === id);
      const cycle = [...stack.slice(start), { id, via, field }];
      const key = cycle
        .slice(0, -1)
        .map((c) => c.id)
        .sort((a, b) => a - b)
        .join(',');
      if (reported.has(key)) return;
      reported.add(key);
      const first = cycle[0]!;
      const second = cycle[1]!;
      const text = cycle.map((c, i) => (i === 0 ? `${c.id}` : `${c.via} ${c.id}`)).join(' → ');
      r.problem(
        `guests.${first.id}.${second.field}`,
        `dependency cycle: ${text}`,
        'remove one of these dependsOn/cloneFrom links so the guests can be built in some order',
      );
      return;
    }
    state.set(id, 'open');
    stack.push({ id, via, field });
    const g = config.guests.get(id);
    if (g) for (const e of edges(g)) visit(e.to, e.via, e.field);
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of config.guests.keys()) visit(id, '', '');
}

/** Static IPs, MACs and hostnames must be unique across the fleet; the later declaration is reported. */
function checkDuplicates(config: Config, r: Reader): void {
  const owners = new Map<string, string>();
  const claim = (kind: string, value: string, path: string, what: string) => {
    const key = `${kind}:${value.toLowerCase()}`;
    const other = owners.get(key);
    if (other === undefined) {
      owners.set(key, path);
      return;
    }
    const guest = other.split('.')[1];
    r.problem(
      path,
      `${what} is also used by guest ${guest} (${other})`,
      `give guest ${path.split('.')[1]} its own ${kind}`,
    );
  };
  for (const g of config.guests.values()) {
    if (g.name) claim('name', g.name, gp(g, 'name'), `name "${g.name}"`);
    if (g.kind === 'lxc') {
      g.net.forEach((n, i) => {
        const ip = staticAddress(n.ip);
        if (ip) claim('IP', ip, gp(g, 'net', i, 'ip'), `IP ${ip}`);
        if (n.hwaddr) claim('MAC', n.hwaddr, gp(g, 'net', i, 'hwaddr'), `MAC ${n.hwaddr}`);
      });
    } else {
      const ip = staticAddress(g.cloudInit.ip);
      if (ip) claim('IP', ip, gp(g, 'cloudInit', 'ip'), `IP ${ip}`);
      if (g.mac) claim('MAC', g.mac, gp(g, 'mac'), `MAC ${g.mac}`);
    }
  }
}
