// Second pass: turn parsed specs into resolved guests — defaults filled in, and a clone's omitted
// fields taken from its source (sources first, whatever the declaration order).
//
// What a clone inherits when it omits it: the things `pct clone`/`qm clone` copy and that describe
// the machine rather than its identity — cores, memory, swap, unprivileged, rootfs storage and
// size, Proxmox features, AppArmor, raw lxc lines, idmap, DNS settings; for VMs storage, disk size,
// bridge, agent and the cloud-init user, password, keys and DNS. Never inherited: identity and
// network addresses (name, net, MAC, IP), what the guest runs (features, app, snapshots,
// dependsOn), boot, firewall, mounts, volumes, GPUs, meta. `ostemplate`/`image` do not apply to
// a clone (it is created from its source).
import type { LxcSpec, VmSpec } from './define.js';
import type { Guest, LxcGuest, LxcNet, VmGuest, Vmid } from './model.js';
import { join, type Reader } from './reader.js';
import type { ParsedConfig, ParsedGuest } from './shape.js';

const LXC_DEFAULTS = { cores: 1, memoryMb: 512, swapMb: 512, unprivileged: true } as const;
const VM_DEFAULTS = { cores: 1, memoryMb: 512, agent: true } as const;

export function resolveGuests(parsed: ParsedConfig, node: string, r: Reader): Map<Vmid, Guest> {
  const byId = new Map(parsed.guests.map((g) => [g.vmid, g]));
  const resolved = new Map<Vmid, Guest>();
  const resolving = new Set<Vmid>();

  const declaredOfKind = (kind: 'lxc' | 'vm', except: Vmid) =>
    parsed.guests
      .filter((g) => g.kind === kind && g.vmid !== except)
      .map((g) => g.vmid)
      .join(', ') || 'none';

  /** The resolved clone source of `g`, or undefined (after reporting why) when there is none to inherit from. */
  function sourceOf(g: ParsedGuest): Guest | undefined {
    if (g.spec.cloneFromHost !== undefined) return hostSource(g);
    const from = g.spec.cloneFrom;
    if (from === undefined) return undefined;
    const path = join(g.path, 'cloneFrom');
    const src = byId.get(from);
    if (!src) {
      r.problem(
        path,
        `guest ${from} is not declared`,
        `declare guest ${from} under guests, or clone from one of: ${declaredOfKind(g.kind, g.vmid)}`,
      );
      return undefined;
    }
    if (from === g.vmid) {
      r.problem(path, 'a guest cannot be cloned from itself', 'remove cloneFrom or name another guest');
      return undefined;
    }
    if (src.kind !== g.kind) {
      const what = (k: string) => (k === 'lxc' ? 'an LXC container' : 'a VM');
      r.problem(
        path,
        `guest ${from} is ${what(src.kind)}; ${what(g.kind)} can only be cloned from ${what(g.kind)}`,
        `clone from one of: ${declaredOfKind(g.kind, g.vmid)}`,
      );
      return undefined;
    }
    // A cloneFrom cycle is reported once, with the other dependency cycles (semantic.ts).
    if (resolving.has(from)) return undefined;
    return resolve(src);
  }

  /** `cloneFromHost`: a guest that must not be declared here; nothing is inherited from it. */
  function hostSource(g: ParsedGuest): undefined {
    const from = g.spec.cloneFromHost!;
    const path = join(g.path, 'cloneFromHost');
    if (g.spec.cloneFrom !== undefined) {
      r.problem(
        path,
        'cannot be combined with cloneFrom',
        'keep cloneFrom (a declared guest) or cloneFromHost (one only on the host)',
      );
    } else if (from === g.vmid) {
      r.problem(path, 'a guest cannot be cloned from itself', 'remove cloneFromHost or name another guest');
    } else if (byId.has(from)) {
      r.problem(path, `guest ${from} is declared in this config`, `use cloneFrom: ${from}`);
    }
    return undefined;
  }

  function resolve(g: ParsedGuest): Guest {
    const done = resolved.get(g.vmid);
    if (done) return done;
    resolving.add(g.vmid);
    const source = sourceOf(g);
    const guest =
      g.kind === 'lxc'
        ? resolveLxc(g as ParsedGuest<'lxc'>, source as LxcGuest | undefined, node, r)
        : resolveVm(g as ParsedGuest<'vm'>, source as VmGuest | undefined, node, r);
    resolving.delete(g.vmid);
    resolved.set(g.vmid, guest);
    return guest;
  }

  for (const g of parsed.guests) resolve(g);
  // Declaration order, not resolution order: plans and `check` list guests as the user wrote them.
  return new Map(parsed.guests.map((g) => [g.vmid, resolved.get(g.vmid)!]));
}

function common(g: ParsedGuest, node: string) {
  const s = g.spec;
  const out = {
    vmid: g.vmid,
    name: s.name,
    node: s.node ?? node,
    template: s.template ?? false,
    dependsOn: s.dependsOn ?? [],
    features: s.features ?? [],
    snapshots: s.snapshots ?? [],
    boot: { onboot: false, ...s.boot },
    onSourceChange: s.onSourceChange ?? 'warn',
  } as const;
  return {
    ...out,
    ...(s.description !== undefined && { description: s.description }),
    ...(s.tags !== undefined && { tags: s.tags }),
    ...(s.cloneFrom !== undefined && { cloneFrom: s.cloneFrom }),
    ...(s.cloneFrom === undefined &&
      s.cloneFromHost !== undefined && { cloneFrom: s.cloneFromHost, cloneSourceOnHost: true }),
    ...(s.cloneSnapshot !== undefined && { cloneSnapshot: s.cloneSnapshot }),
    ...(s.featureArgs !== undefined && { featureArgs: s.featureArgs }),
    ...(s.app !== undefined && { app: s.app }),
    ...(s.firewall !== undefined && {
      firewall: {
        enabled: s.firewall.enabled ?? true,
        ...(s.firewall.policyIn !== undefined && { policyIn: s.firewall.policyIn }),
        ...(s.firewall.policyOut !== undefined && { policyOut: s.firewall.policyOut }),
        rules: s.firewall.rules ?? [],
      },
    }),
    ...(s.healthCheck !== undefined && { healthCheck: s.healthCheck }),
    ...(s.meta !== undefined && { meta: s.meta }),
  };
}

function notForClones(g: ParsedGuest, key: 'ostemplate' | 'image', r: Reader): void {
  if ((g.spec as LxcSpec & VmSpec)[key] !== undefined) {
    r.problem(
      join(g.path, key),
      `does not apply to a clone: guest ${g.vmid} is created by cloning ${g.spec.cloneFrom ?? g.spec.cloneFromHost}`,
      `remove ${key}, or remove cloneFrom to create the guest from it`,
    );
  }
}

function resolveLxc(g: ParsedGuest<'lxc'>, src: LxcGuest | undefined, node: string, r: Reader): LxcGuest {
  const s = g.spec;
  const onHost = s.cloneFromHost !== undefined;
  const isClone = s.cloneFrom !== undefined || onHost;
  if (isClone) notForClones(g, 'ostemplate', r);
  // A clone of a host-only guest inherits nothing: it declares its root disk like a new container.
  if (!isClone || onHost) {
    if (s.ostemplate === undefined && !isClone) {
      r.problem(
        join(g.path, 'ostemplate'),
        'missing: a container that is not a clone is created from an OS template',
        'add ostemplate (e.g. "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"), or cloneFrom',
      );
    }
    const rootfsPath = join(g.path, 'rootfs');
    if (!r.hasProblemAt(rootfsPath)) {
      if (s.rootfs?.storage === undefined) {
        r.problem(
          join(rootfsPath, 'storage'),
          'missing: a new container needs a root disk storage',
          'add rootfs: { storage: "<storage id>", sizeGb: 8 }',
        );
      }
      if (s.rootfs?.sizeGb === undefined) {
        r.problem(
          join(rootfsPath, 'sizeGb'),
          'missing: a new container needs a root disk size',
          'add rootfs.sizeGb (GiB)',
        );
      }
    }
  }
  const net: LxcNet[] = (s.net ?? []).map((n, i) => {
    const index = n.index ?? i;
    const out: LxcNet = { index, name: n.name ?? `eth${index}`, bridge: n.bridge, ip: n.ip };
    if (n.gw !== undefined) out.gw = n.gw;
    if (n.hwaddr !== undefined) out.hwaddr = n.hwaddr;
    if (n.vlan !== undefined) out.vlan = n.vlan;
    if (n.firewall !== undefined) out.firewall = n.firewall;
    return out;
  });
  const guest: LxcGuest = {
    kind: 'lxc',
    ...common(g, node),
    cores: s.cores ?? src?.cores ?? LXC_DEFAULTS.cores,
    memoryMb: s.memoryMb ?? src?.memoryMb ?? LXC_DEFAULTS.memoryMb,
    unprivileged: s.unprivileged ?? src?.unprivileged ?? LXC_DEFAULTS.unprivileged,
    swapMb: s.swapMb ?? src?.swapMb ?? LXC_DEFAULTS.swapMb,
    rootfs: {
      storage: s.rootfs?.storage ?? src?.rootfs.storage ?? '',
      sizeGb: s.rootfs?.sizeGb ?? src?.rootfs.sizeGb ?? 0,
    },
    net,
    pveFeatures: s.pveFeatures ?? src?.pveFeatures ?? {},
    gpus: s.gpus ?? [],
    rawLxc: s.rawLxc ?? src?.rawLxc ?? [],
    idmap: s.idmap ?? src?.idmap ?? [],
    mounts: s.mounts ?? [],
    zfsVolumes: s.zfsVolumes ?? [],
  };
  if (!isClone && s.ostemplate !== undefined) guest.ostemplate = s.ostemplate;
  const nameserver = s.nameserver ?? src?.nameserver;
  if (nameserver !== undefined) guest.nameserver = nameserver;
  const searchdomain = s.searchdomain ?? src?.searchdomain;
  if (searchdomain !== undefined) guest.searchdomain = searchdomain;
  const apparmor = s.apparmor ?? src?.apparmor;
  if (apparmor !== undefined)
    guest.apparmor = { profile: apparmor.profile, allowNesting: apparmor.allowNesting ?? false };
  return guest;
}

function resolveVm(g: ParsedGuest<'vm'>, src: VmGuest | undefined, node: string, r: Reader): VmGuest {
  const s = g.spec;
  const onHost = s.cloneFromHost !== undefined;
  const isClone = s.cloneFrom !== undefined || onHost;
  if (isClone) notForClones(g, 'image', r);
  if (!isClone || onHost) {
    const need = (key: 'image' | 'storage' | 'bridge', fix: string) => {
      if (key === 'image' && isClone) return;
      if (s[key] === undefined && !r.hasProblemAt(join(g.path, key))) {
        r.problem(join(g.path, key), 'missing: a VM that is not a clone needs it', fix);
      }
    };
    need(
      'image',
      'add image (a cloud image volume, e.g. "local:import/noble-server-cloudimg-amd64.qcow2"), or cloneFrom',
    );
    need('storage', 'add storage (the storage id for the boot disk and cloud-init drive)');
    need('bridge', 'add bridge (e.g. "vmbr0")');
    if (s.cloudInit?.user === undefined && !r.hasProblemAt(join(g.path, 'cloudInit'))) {
      r.problem(
        join(join(g.path, 'cloudInit'), 'user'),
        'missing: a VM that is not a clone needs a cloud-init user',
        'add cloudInit: { user: "<name>" }',
      );
    }
  }
  const ci = s.cloudInit ?? {};
  const inherited = src?.cloudInit;
  const cloudInit = {
    user: ci.user ?? inherited?.user ?? '',
    ip: ci.ip ?? 'dhcp',
    ...((ci.password ?? inherited?.password) !== undefined && {
      password: (ci.password ?? inherited?.password)!,
    }),
    ...((ci.sshKeys ?? inherited?.sshKeys) !== undefined && { sshKeys: (ci.sshKeys ?? inherited?.sshKeys)! }),
    ...(ci.gw !== undefined && { gw: ci.gw }),
    ...((ci.nameserver ?? inherited?.nameserver) !== undefined && {
      nameserver: (ci.nameserver ?? inherited?.nameserver)!,
    }),
    ...((ci.searchdomain ?? inherited?.searchdomain) !== undefined && {
      searchdomain: (ci.searchdomain ?? inherited?.searchdomain)!,
    }),
  };
  const guest: VmGuest = {
    kind: 'vm',
    ...common(g, node),
    cores: s.cores ?? src?.cores ?? VM_DEFAULTS.cores,
    memoryMb: s.memoryMb ?? src?.memoryMb ?? VM_DEFAULTS.memoryMb,
    storage: s.storage ?? src?.storage ?? '',
    bridge: s.bridge ?? src?.bridge ?? '',
    cloudInit,
    agent: s.agent ?? src?.agent ?? VM_DEFAULTS.agent,
    nfsVolumes: s.nfsVolumes ?? [],
  };
  if (!isClone && s.image !== undefined) guest.image = s.image;
  const diskGb = s.diskGb ?? src?.diskGb;
  if (diskGb !== undefined) guest.diskGb = diskGb;
  if (s.mac !== undefined) guest.mac = s.mac;
  return guest;
}
