// A guest as the host shows it → the authoring fields `phoenix import` writes (the same IR and
// printer, so an adopted guest reads like an imported one). Pure: host state in, fields and
// notes out. The mapping is the inverse of what the targets declare (lxcDeclared, vmDeclared,
// mountPoints, wantFirewall, declaredRawLxc, the idmap target), so a guest adopted as it is
// observes "no drift" on the next build; what cannot be expressed is a note, never a guess
// that would change the guest silently.
import { addFieldComment, Code, type ImportedGuest } from '../../migrations/legacy/ir.js';
import type { FirewallRule, IdMapDecl, Vmid } from '../dsl/model.js';
import { GiB, parseFirewall, parsePropertyString, parseQemuNet, parseSize } from '../pve/format/index.js';
import { descriptionOf, type GuestState, type HostState } from '../pve/state.js';
import { splitDescription } from '../runner/stamps.js';

const UNPRIVILEGED_BASE = 100000;

export interface AdoptContext {
  state: HostState;
  /** Guests that will be declared once this adoption is written (declared before + adopted now). */
  declared: Set<Vmid>;
  /** An OS template / cloud image on the host to name when the origin is unknown. */
  guessOstemplate?: string;
  guessImage?: string;
}

export interface Adopted {
  guest: ImportedGuest;
  /** What was guessed, and what the next build will still change, one line each. */
  notes: string[];
  /** Storage ids the declaration names. */
  storages: string[];
}

const props = (value: string | undefined, key?: string): Record<string, string> => {
  if (!value) return {};
  const p = parsePropertyString(value, key);
  return p.ok ? p.value : {};
};

const gib = (size: string | undefined): number | undefined => {
  const bytes = size ? parseSize(size) : undefined;
  return bytes === undefined ? undefined : Math.ceil(bytes / GiB);
};

const storageOf = (volume: string | undefined) => /^([^:/\s]+):/.exec(volume ?? '')?.[1];

/** The guest whose base volume this volume is a linked clone of (`base-9000-disk-0/vm-1001-disk-0`). */
export function linkedParent(volume: string | undefined): Vmid | undefined {
  const name = (volume ?? '').replace(/^[^:]+:/, '');
  const parts = name.split('/');
  if (parts.length < 2) return undefined;
  const m = /^base(?:vol)?-(\d+)-/.exec(parts[parts.length - 2]!);
  return m ? Number(m[1]) : undefined;
}

function common(gs: GuestState, ctx: AdoptContext, a: Adopted, volume: string | undefined): void {
  const f = a.guest.fields;
  const p = gs.current.props;
  const notes = splitDescription(descriptionOf(gs)).notes.trim();
  if (notes) f.description = notes;
  if (gs.template) f.template = true;
  const parent = linkedParent(volume);
  if (parent !== undefined && parent !== gs.vmid) {
    if (ctx.declared.has(parent)) f.cloneFrom = parent;
    else {
      f.cloneFromHost = parent;
      a.notes.push(`linked clone of ${parent}, which stays undeclared: cloneFromHost ${parent}`);
    }
  }
  if (p.tags) f.tags = p.tags.split(/[;, ]+/).filter(Boolean);
  const startup = props(p.startup);
  const boot: Record<string, unknown> = { onboot: p.onboot === '1' };
  if (startup.order !== undefined) boot.order = Number(startup.order);
  if (startup.up !== undefined) boot.upDelayS = Number(startup.up);
  if (startup.down !== undefined) boot.downDelayS = Number(startup.down);
  f.boot = boot;
}

function snapshots(gs: GuestState, a: Adopted): void {
  if (gs.template) return;
  const binds = Object.entries(gs.current.props).some(([k, v]) => /^mp\d+$/.test(k) && v.startsWith('/'));
  if (gs.kind === 'lxc' && binds && Object.keys(gs.conf.snapshots).length) {
    // `pct snapshot` refuses a CT with bind mounts (pve-guest-common AbstractConfig.pm:753), so
    // a declaration could never be re-taken; the snapshots stay on the host, undeclared.
    a.notes.push(
      `snapshots ${Object.keys(gs.conf.snapshots).join(', ')} left undeclared: Proxmox cannot take a snapshot of a container with bind mounts`,
    );
    return;
  }
  const list = Object.entries(gs.conf.snapshots)
    .filter(([name]) => name !== 'vzdump')
    .sort(([, x], [, y]) => Number(x.props.snaptime ?? 0) - Number(y.props.snaptime ?? 0))
    .map(([name, sec]) => ({
      name,
      after: 'config',
      ...(sec.description?.trim() ? { description: sec.description.trim() } : {}),
    }));
  if (list.length) {
    a.guest.fields.snapshots = list;
    addFieldComment(
      a.guest,
      'snapshots',
      'adopted as they are: the host does not record the stage they followed',
    );
  }
}

function firewall(gs: GuestState, ctx: AdoptContext, a: Adopted): void {
  const text = ctx.state.firewall.get(gs.vmid);
  if (text === undefined) return;
  const fw = parseFirewall(text);
  const rules: FirewallRule[] = [];
  fw.rules.forEach((r, i) => {
    if (r.type === 'group' || r.macro || r.icmpType || (r.log && r.log !== 'nolog')) {
      a.notes.push(
        `firewall rule ${i} (${r.type} ${r.macro ?? r.action}) cannot be declared; the next build removes it`,
      );
      return;
    }
    rules.push({
      direction: r.type,
      action: r.action as FirewallRule['action'],
      ...(r.source ? { source: r.source } : {}),
      ...(r.dest ? { dest: r.dest } : {}),
      ...(r.proto ? { proto: r.proto } : {}),
      ...(r.dport ? { dport: r.dport } : {}),
      ...(r.sport ? { sport: r.sport } : {}),
      ...(r.iface ? { iface: r.iface } : {}),
      ...(r.comment ? { comment: r.comment } : {}),
      ...(r.enable ? {} : { enabled: false }),
    });
  });
  const out: Record<string, unknown> = { enabled: fw.options.enable === '1' };
  if (fw.options.policy_in) out.policyIn = fw.options.policy_in;
  if (fw.options.policy_out) out.policyOut = fw.options.policy_out;
  out.rules = rules;
  const extra = Object.keys(fw.options).filter((k) => !['enable', 'policy_in', 'policy_out'].includes(k));
  if (extra.length)
    a.notes.push(`firewall options ${extra.join(', ')} cannot be declared; the next build removes them`);
  if (fw.other.length)
    a.notes.push(
      'firewall sections other than OPTIONS and RULES cannot be declared; the next build removes them',
    );
  a.guest.fields.firewall = out;
  // Phoenix puts `firewall=1` on the NICs of a guest whose firewall is on (pve-firewall builds rules
  // only for such NICs, src/PVE/Firewall.pm:4386); a NIC the host left without it says so, so that
  // adopting changes nothing.
  if (out.enabled && gs.kind === 'lxc')
    for (const n of (a.guest.fields.net as Record<string, unknown>[] | undefined) ?? [])
      if (n.firewall !== true) n.firewall = false;
}

export function adoptLxc(gs: GuestState, ctx: AdoptContext): Adopted {
  const p = gs.current.props;
  const guest = newGuest(gs);
  const a: Adopted = { guest, notes: [], storages: [] };
  const f = guest.fields;
  f.name = p.hostname ?? `ct${gs.vmid}`;
  if (!p.hostname) a.notes.push(`no hostname on the host: named ct${gs.vmid}`);
  const root = props(p.rootfs, 'volume');
  common(gs, ctx, a, root.volume);
  if (f.cloneFrom === undefined && f.cloneFromHost === undefined) {
    f.ostemplate = ctx.guessOstemplate ?? 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
    addFieldComment(
      guest,
      'ostemplate',
      'guessed: the host does not record which template a container was made from',
    );
    a.notes.push(`ostemplate guessed (${f.ostemplate}): used only if the guest is ever re-created`);
    const sid = storageOf(f.ostemplate as string);
    if (sid) a.storages.push(sid);
  }
  f.unprivileged = p.unprivileged === '1';
  f.cores = Number(p.cores ?? 1);
  if (p.cores === undefined)
    a.notes.push('no cores limit on the host: declared 1, which the next build sets');
  f.memoryMb = Number(p.memory ?? 512);
  f.swapMb = Number(p.swap ?? 512);
  const rootStorage = storageOf(root.volume);
  const size = gib(root.size);
  if (rootStorage) {
    f.rootfs = { storage: rootStorage, sizeGb: size ?? 8 };
    a.storages.push(rootStorage);
  }
  if (root.size && size !== undefined && (parseSize(root.size) ?? 0) !== size * GiB)
    a.notes.push(`root disk is ${root.size}: declared ${size} GiB, the next build grows it`);
  net(gs, a);
  if (p.nameserver) f.nameserver = p.nameserver;
  if (p.searchdomain) f.searchdomain = p.searchdomain;
  pveFeatures(p.features, a);
  rawLines(gs, a);
  devices(gs, a);
  mounts(gs, ctx, a);
  snapshots(gs, a);
  firewall(gs, ctx, a);
  return a;
}

function newGuest(gs: GuestState): ImportedGuest {
  return {
    vmid: gs.vmid,
    kind: gs.kind,
    fields: {},
    comments: [],
    fieldComments: new Map(),
    file: 'host',
    path: `guest ${gs.vmid}`,
  };
}

function net(gs: GuestState, a: Adopted): void {
  const keys = Object.keys(gs.current.props)
    .filter((k) => /^net\d+$/.test(k))
    .sort((x, y) => Number(x.slice(3)) - Number(y.slice(3)));
  const nets = keys.map((key, i) => {
    const n = props(gs.current.props[key]);
    const index = Number(key.slice(3));
    const out: Record<string, unknown> = {};
    if (index !== i) out.index = index;
    out.name = n.name ?? `eth${index}`;
    out.bridge = n.bridge ?? 'vmbr0';
    out.ip = n.ip ?? 'manual';
    if (n.gw) out.gw = n.gw;
    if (n.hwaddr) out.hwaddr = n.hwaddr;
    if (n.tag) out.vlan = Number(n.tag);
    if (n.firewall === '1') out.firewall = true;
    const extra = Object.keys(n).filter(
      (k) => !['name', 'bridge', 'ip', 'gw', 'hwaddr', 'tag', 'firewall', 'type'].includes(k),
    );
    if (extra.length)
      a.notes.push(`${key}: ${extra.join(', ')} cannot be declared; the next build removes them`);
    return out;
  });
  if (nets.length) a.guest.fields.net = nets;
}

function pveFeatures(value: string | undefined, a: Adopted): void {
  const p = props(value);
  const out: Record<string, unknown> = {};
  for (const k of ['nesting', 'keyctl', 'fuse', 'mknod'] as const) if (p[k] === '1') out[k] = true;
  if (p.mount) out.mount = p.mount.split(';').filter(Boolean);
  const extra = Object.keys(p).filter((k) => !['nesting', 'keyctl', 'fuse', 'mknod', 'mount'].includes(k));
  if (extra.length)
    a.notes.push(`features ${extra.join(', ')} cannot be declared; the next build removes them`);
  if (Object.keys(out).length) a.guest.fields.pveFeatures = out;
}

function rawLines(gs: GuestState, a: Adopted): void {
  const f = a.guest.fields;
  const raw: string[] = [];
  const idmap: IdMapDecl[] = [];
  let profile: string | undefined;
  let nesting = false;
  for (const [k, v] of gs.current.lxc) {
    if (k === 'lxc.idmap') {
      const m = /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(v.trim());
      if (!m) {
        a.notes.push(`lxc.idmap '${v}' cannot be read; left out`);
        continue;
      }
      const [containerId, hostId, size] = [Number(m[2]), Number(m[3]), Number(m[4])];
      // Phoenix declares the exceptions; ranges that follow Proxmox's default shift are implied.
      if (hostId !== UNPRIVILEGED_BASE + containerId)
        idmap.push({ type: m[1] === 'u' ? 'uid' : 'gid', containerId, hostId, size });
    } else if (k === 'lxc.apparmor.profile' && profile === undefined) profile = v;
    else if (k === 'lxc.apparmor.allow_nesting' && v === '1' && !nesting) nesting = true;
    else raw.push(`${k}: ${v}`);
  }
  if (profile !== undefined) f.apparmor = nesting ? { profile, allowNesting: true } : { profile };
  else if (nesting) raw.push('lxc.apparmor.allow_nesting: 1');
  if (raw.length) f.rawLxc = raw;
  if (idmap.length) f.idmap = idmap;
}

/** NVIDIA passthrough entries as `gpus`; other devices are noted (Phoenix leaves undeclared ones alone). */
function devices(gs: GuestState, a: Adopted): void {
  const gpus: number[] = [];
  for (const [k, v] of Object.entries(gs.current.props)) {
    if (!/^dev\d+$/.test(k)) continue;
    const path = props(v, 'path').path ?? '';
    const m = /^\/dev\/nvidia(\d+)$/.exec(path);
    if (m) gpus.push(Number(m[1]));
    else if (!/^\/dev\/nvidia(ctl|-uvm|-uvm-tools|-caps\/nvidia-cap\d+)$/.test(path))
      a.notes.push(`${k} (${path}) cannot be declared; Phoenix leaves it as it is`);
  }
  if (gpus.length) a.guest.fields.gpus = [...new Set(gpus)].sort((x, y) => x - y);
}

function mounts(gs: GuestState, ctx: AdoptContext, a: Adopted): void {
  const f = a.guest.fields;
  const keys = Object.keys(gs.current.props)
    .filter((k) => /^mp\d+$/.test(k))
    .sort((x, y) => Number(x.slice(2)) - Number(y.slice(2)));
  const binds: Record<string, unknown>[] = [];
  const volumes: Record<string, unknown>[] = [];
  let orderOk = true;
  keys.forEach((key, i) => {
    const mp = props(gs.current.props[key], 'volume');
    const volume = mp.volume ?? '';
    if (key !== `mp${i}`) orderOk = false;
    if (volume.startsWith('/')) {
      if (volumes.length) orderOk = false;
      const out: Record<string, unknown> = { hostPath: volume, path: mp.mp ?? '' };
      const owner = containerOwner(gs, ctx, volume);
      if (owner && (owner.uid !== 0 || owner.gid !== 0)) out.owner = owner;
      if (mp.ro === '1') out.readOnly = true;
      binds.push(out);
    } else {
      const storage = storageOf(volume) ?? '';
      a.storages.push(storage);
      volumes.push({
        name: (mp.mp ?? key).split('/').filter(Boolean).pop() ?? key,
        storage,
        sizeGb: gib(mp.size) ?? 1,
        path: mp.mp ?? '',
      });
    }
  });
  if (!orderOk)
    a.notes.push(
      'mount points are not numbered bind mounts first: the next build renumbers them (mp0… binds, then volumes)',
    );
  if (binds.length) f.mounts = binds;
  if (volumes.length) f.zfsVolumes = volumes;
}

/** The owner of a bind-mounted host folder as the container sees it (the inverse of hostIdFor). */
function containerOwner(
  gs: GuestState,
  ctx: AdoptContext,
  hostPath: string,
): { uid: number; gid: number } | undefined {
  const host = ctx.state.hostDirs?.get(hostPath);
  if (!host) return undefined;
  const unpriv = gs.current.props.unprivileged === '1';
  const back = (type: 'u' | 'g', id: number): number => {
    for (const [k, v] of gs.current.lxc) {
      const m = k === 'lxc.idmap' ? /^([ug])\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(v.trim()) : null;
      if (m && m[1] === type && id >= Number(m[3]) && id < Number(m[3]) + Number(m[4]))
        return Number(m[2]) + id - Number(m[3]);
    }
    return unpriv && id >= UNPRIVILEGED_BASE ? id - UNPRIVILEGED_BASE : id;
  };
  return { uid: back('u', host.uid), gid: back('g', host.gid) };
}

export function adoptVm(gs: GuestState, ctx: AdoptContext): Adopted {
  const p = gs.current.props;
  const guest = newGuest(gs);
  const a: Adopted = { guest, notes: [], storages: [] };
  const f = guest.fields;
  f.name = p.name ?? `vm${gs.vmid}`;
  const disk = props(p.scsi0, 'file');
  common(gs, ctx, a, disk.file);
  const isClone = f.cloneFrom !== undefined || f.cloneFromHost !== undefined;
  if (!isClone) {
    f.image = ctx.guessImage ?? 'local:import/noble-server-cloudimg-amd64.qcow2';
    addFieldComment(guest, 'image', 'guessed: the host does not record which image a VM was made from');
    a.notes.push(`image guessed (${f.image}): used only if the VM is ever re-created`);
    const sid = storageOf(f.image as string);
    if (sid) a.storages.push(sid);
  }
  f.cores = Number(p.cores ?? 1);
  f.memoryMb = Number(p.memory ?? 512);
  const storage = storageOf(disk.file);
  if (storage) {
    f.storage = storage;
    a.storages.push(storage);
  }
  // diskGb only grows the disk: left out when the host's size is not whole GiB (a cloud image's).
  const size = gib(disk.size);
  if (size !== undefined && (parseSize(disk.size ?? '') ?? 0) === size * GiB) f.diskGb = size;
  if (!p.scsi0)
    a.notes.push('no scsi0 boot disk: Phoenix manages scsi0 only; other disks are left as they are');
  const n = p.net0 ? parseQemuNet(p.net0) : undefined;
  f.bridge = n?.rest.bridge ?? 'vmbr0';
  if (n?.macaddr) f.mac = n.macaddr;
  if (n && n.model !== 'virtio') a.notes.push(`net0 model ${n.model}: the next build sets virtio`);
  const ip = props(p.ipconfig0);
  const ci: Record<string, unknown> = { user: p.ciuser ?? 'ubuntu' };
  if (!p.ciuser) a.notes.push("no cloud-init user on the host: declared 'ubuntu', which the next build sets");
  ci.ip = ip.ip ?? 'dhcp';
  if (ip.gw) ci.gw = ip.gw;
  if (p.nameserver) ci.nameserver = p.nameserver;
  if (p.searchdomain) ci.searchdomain = p.searchdomain;
  if (p.cipassword) {
    const name = `PHOENIX_VM_${gs.vmid}_PASSWORD`;
    ci.password = new Code(`fromEnv('${name}')`);
    addFieldComment(
      guest,
      'cloudInit',
      `password not copied (the host keeps only its hash): set ${name} to manage it`,
    );
    a.notes.push(`cloud-init password: from the environment variable ${name} (unset: the host's is kept)`);
  }
  if (p.sshkeys) {
    const name = `PHOENIX_VM_${gs.vmid}_SSH_KEYS`;
    ci.sshKeys = new Code(`fromEnv('${name}')?.split('\\n')`);
    addFieldComment(guest, 'cloudInit', `SSH keys not copied: set ${name} (one key per line) to manage them`);
    a.notes.push(`cloud-init SSH keys: from the environment variable ${name} (unset: the host's are kept)`);
  }
  f.cloudInit = ci;
  if (p.agent === undefined || !/(^|,)(enabled=)?1(,|$)/.test(p.agent)) f.agent = false;
  snapshots(gs, a);
  firewall(gs, ctx, a);
  return a;
}
