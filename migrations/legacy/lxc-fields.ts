// The parts of one legacy container entry that took more than a line to translate: OS template
// locations, interfaces, raw lxc lines and AppArmor, id maps, mounts and volumes, vLLM flags.

import { withPrefix } from './common.js';
import { addFieldComment, type GuestExtra, type ImportedGuest } from './ir.js';
import { MAC_RE, parseRawLxc } from './lxc-parts.js';
import { isObject, type Json, Reader } from './reader.js';
import type { StorageCatalog } from './storages.js';

export function ostemplateFrom(
  value: string,
  storages: StorageCatalog,
  r: Reader,
  key: string,
): { volid: string; comment?: string } | undefined {
  const at = r.at(key);
  // Already a volume id: `storage:vztmpl/file`.
  const volid = /^([A-Za-z][A-Za-z0-9._-]*):(.+)$/.exec(value);
  if (volid) {
    const [, storage = '', rest = ''] = volid;
    storages.use(storage, 'vztmpl', r.file, at);
    if (!rest.startsWith('vztmpl/')) {
      r.report.warn(r.file, at, `volume id '${value}' has no vztmpl/ part; imported as is`);
    }
    return { volid: value };
  }
  const file = value.split('/').pop() ?? value;
  if (!value.startsWith('/')) {
    const id = storages.templateStorageId() ?? 'local';
    storages.use(id, 'vztmpl', r.file, at);
    r.report.warn(r.file, at, `bare template file name: assumed to be on storage '${id}'`);
    return {
      volid: `${id}:vztmpl/${file}`,
      comment: `legacy gave only the file name '${value}'; storage '${id}' assumed`,
    };
  }
  const m = /^(.*)\/template\/cache\/[^/]+$/.exec(value);
  if (!m) {
    storages.use('local', 'vztmpl', r.file, at);
    r.report.warn(
      r.file,
      at,
      `'${value}' is not inside a storage's template/cache folder; put the file on 'local' (/var/lib/vz/template/cache)`,
    );
    return {
      volid: `local:vztmpl/${file}`,
      comment: `legacy path '${value}' is outside any storage: copy the file to /var/lib/vz/template/cache`,
    };
  }
  const dir = m[1] ?? '';
  let id = storages.idForHostDir(dir);
  let comment = `legacy path ${value}`;
  if (!id) {
    id = dir.replace(/^\/+/, '').replace(/\//g, '-') || 'local';
    r.report.warn(r.file, at, `no storage known for folder ${dir}; declared a dir storage '${id}' (guess)`);
    comment += ` (storage '${id}' guessed from the folder)`;
  }
  storages.use(id, 'vztmpl', r.file, at);
  return { volid: `${id}:vztmpl/${file}`, comment };
}

/**
 * The oldest shape: `network_config` as one string `ip/cidr,gw,dns` (no interface name, no
 * bridge). Read as the object shape with the bridge guessed (`vmbr0`, Proxmox's default bridge)
 * and the guess reported.
 */
function stringNetwork(r: Reader, key: string, text: string, index: number): Reader {
  r.consume(key);
  const [ip, gw, ...dns] = text.split(',').map((p) => p.trim());
  const obj: Record<string, Json> = { name: `eth${index}`, bridge: 'vmbr0' };
  if (ip) obj.ip = ip;
  if (gw) obj.gw = gw;
  if (dns.length) obj.nameserver = dns.join(' ');
  r.report.warn(
    r.file,
    r.at(key),
    `the old string shape "${text}" (ip/cidr,gw,dns): read as ip ${ip || 'dhcp'}${gw ? `, gw ${gw}` : ''}${dns.length ? `, nameserver ${dns.join(' ')}` : ''}; interface eth${index} on bridge vmbr0 guessed`,
  );
  return new Reader(r.report, r.file, r.at(key), obj);
}

export function mapNetwork(r: Reader, guest: ImportedGuest, extra: GuestExtra): void {
  const f = guest.fields;
  const nets: Record<string, unknown>[] = [];
  const mac = r.str('mac_address');
  const staticIp = r.str('static_ip');
  let nameserver: string | undefined;
  for (const [key, index] of [
    ['network_config', 0],
    ['secondary_network_config', 1],
  ] as const) {
    const rawNc = r.value[key];
    const nc = typeof rawNc === 'string' ? stringNetwork(r, key, rawNc, index) : r.obj(key);
    if (!nc) continue;
    const n: Record<string, unknown> = {};
    n.name = nc.str('name') ?? `eth${index}`;
    if (!nc.has('name')) r.report.warn(r.file, nc.path, `no interface name; imported as eth${index}`);
    const bridge = nc.str('bridge');
    if (!bridge) r.report.error(r.file, nc.path, 'no bridge: cannot declare the interface');
    else n.bridge = bridge;
    let ip = nc.str('ip');
    if (!ip && index === 0 && staticIp) ip = staticIp;
    if (!ip) {
      r.report.warn(r.file, nc.path, "no ip: imported as 'dhcp'");
      ip = 'dhcp';
    }
    n.ip = withPrefix(r, nc.at('ip'), ip);
    ip = n.ip as string;
    const gw = nc.str('gw');
    if (gw) n.gw = gw;
    const hw = nc.str('hwaddr') ?? (index === 0 ? mac : undefined);
    if (hw) {
      if (!MAC_RE.test(hw))
        r.report.error(
          r.file,
          nc.has('hwaddr') ? nc.at('hwaddr') : r.at('mac_address'),
          `'${hw}' is not a MAC address`,
        );
      n.hwaddr = hw.toUpperCase();
      extra.macs.push({
        mac: hw.toUpperCase(),
        path: nc.has('hwaddr') ? nc.at('hwaddr') : r.at('mac_address'),
        release: () => {
          delete n.hwaddr;
          return `net[${index}].hwaddr removed: Proxmox generates a MAC`;
        },
      });
    }
    if (
      index === 0 &&
      mac &&
      nc.has('hwaddr') &&
      mac.toUpperCase() !== (nc.str('hwaddr') ?? '').toUpperCase()
    ) {
      r.report.warn(
        r.file,
        r.at('mac_address'),
        `mac_address ${mac} differs from network_config.hwaddr ${nc.str('hwaddr')}; hwaddr used`,
      );
    }
    if (ip !== 'dhcp' && ip !== 'manual') {
      extra.ips.push({
        ip: ip.split('/')[0] ?? ip,
        path: nc.at('ip'),
        release: () => {
          n.ip = 'dhcp';
          delete n.gw;
          return `net[${index}] set to dhcp: give it a free address`;
        },
      });
    }
    // The rootesting code prefers `nameserver` (explicit override) over `nameservers`.
    const ns = nc.str('nameserver') ?? nc.str('nameservers');
    if (ns && index === 0) nameserver = ns;
    else if (ns) {
      r.report.warn(
        r.file,
        nc.at(nc.has('nameserver') ? 'nameserver' : 'nameservers'),
        'a nameserver on the second interface: Proxmox has one per container; dropped',
      );
      r.report.dropped(
        r.file,
        nc.path,
        `lxc_configs.*.${key}.nameserver`,
        'Proxmox has one nameserver setting per container',
      );
    }
    for (const k of ['type', 'parent']) {
      const v = nc.str(k);
      if (v !== undefined) {
        r.report.dropped(
          r.file,
          nc.at(k),
          `lxc_configs.*.${key}.${k}`,
          'schema-only in the legacy system; the interface type comes from raw lxc.net.* lines',
        );
      }
    }
    for (const k of nc.rest()) {
      r.report.warn(r.file, nc.at(k), `unknown interface option '${k}'; dropped`);
      r.report.dropped(r.file, nc.at(k), `lxc_configs.*.${key}.${k}`, 'not an LXC interface option');
    }
    r.report.mapped(
      r.file,
      nc.path,
      `lxc_configs.*.${key}`,
      `net[${index}]`,
      index === 0 ? 'mac_address → hwaddr' : undefined,
    );
    nets.push(n);
  }
  if (mac && nets.length === 0) {
    r.report.dropped(
      r.file,
      r.at('mac_address'),
      'lxc_configs.*.mac_address',
      'no network_config to attach it to',
    );
  }
  if (staticIp !== undefined) {
    const used = nets[0]?.ip === staticIp;
    if (used) r.report.mapped(r.file, r.at('static_ip'), 'lxc_configs.*.static_ip', 'net[0].ip');
    else
      r.report.dropped(
        r.file,
        r.at('static_ip'),
        'lxc_configs.*.static_ip',
        'network_config.ip takes precedence',
      );
  }
  if (nets.length > 0) f.net = nets;
  else r.report.warn(r.file, r.path, 'no network_config: the container gets no interface');
  if (nameserver) {
    f.nameserver = nameserver.replace(/[,;]\s*/g, ' ');
    r.report.mapped(
      r.file,
      r.at('network_config'),
      'lxc_configs.*.network_config.nameserver(s)',
      'nameserver',
    );
  }
}

export function mapLxcOptions(r: Reader, guest: ImportedGuest): void {
  const f = guest.fields;
  const profile = r.str('apparmor_profile');
  const managesNesting = r.bool('apparmor_manages_nesting');
  const lines = r.arr('lxc_options') ?? [];
  const raw: string[] = [];
  let rawProfile: string | undefined;
  let rawNesting: boolean | undefined;
  const netLines: string[] = [];
  lines.forEach((line, i) => {
    const at = `${r.at('lxc_options')}[${i}]`;
    if (typeof line !== 'string') {
      r.report.error(r.file, at, 'expected a raw lxc line (string)');
      return;
    }
    const p = parseRawLxc(line);
    if (!p) {
      r.report.warn(r.file, at, `'${line}' is not an lxc.* key; dropped`);
      r.report.dropped(r.file, at, 'lxc_configs.*.lxc_options[]', 'not an lxc.* line');
      return;
    }
    if (p.key === 'lxc.apparmor.profile') {
      rawProfile = p.value;
      return;
    }
    if (p.key === 'lxc.apparmor.allow_nesting') {
      rawNesting = p.value === '1';
      return;
    }
    if (p.key === 'lxc.cap.keep' && p.value.includes(',')) {
      // The legacy tool wrote one `lxc.cap.keep:` line per capability.
      for (const cap of p.value
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean))
        raw.push(`lxc.cap.keep: ${cap}`);
      return;
    }
    if (/^lxc\.net\.\d+\./.test(p.key)) netLines.push(p.key);
    const norm = `${p.key}: ${p.value}`;
    if (!raw.includes(norm)) raw.push(norm);
  });
  if (lines.length > 0)
    r.report.mapped(
      r.file,
      r.at('lxc_options'),
      'lxc_configs.*.lxc_options',
      'rawLxc',
      'normalised to `key: value`',
    );
  if (netLines.length > 0) {
    r.report.warn(
      r.file,
      r.at('lxc_options'),
      `raw ${[...new Set(netLines)].join(', ')} override the Proxmox-managed interface (macvlan); review`,
    );
    const n0 = (f.net as Record<string, unknown>[] | undefined)?.[0];
    if (n0) n0.firewall = false;
    addFieldComment(
      guest,
      'rawLxc',
      'raw lxc.net.* lines turn a Proxmox interface into macvlan (legacy rootesting); review',
    );
  }
  if (raw.length > 0) f.rawLxc = raw;

  let effective = profile;
  if (rawProfile !== undefined) {
    if (profile !== undefined && profile !== rawProfile) {
      r.report.warn(
        r.file,
        r.at('lxc_options'),
        `raw lxc.apparmor.profile '${rawProfile}' conflicts with apparmor_profile '${profile}'; the raw line was written last and wins`,
      );
    }
    effective = rawProfile;
    r.report.mapped(
      r.file,
      r.at('lxc_options'),
      'lxc_configs.*.lxc_options[lxc.apparmor.profile]',
      'apparmor.profile',
      'folded, not a raw line',
    );
  }
  if (profile !== undefined)
    r.report.mapped(r.file, r.at('apparmor_profile'), 'lxc_configs.*.apparmor_profile', 'apparmor.profile');
  if (managesNesting !== undefined) {
    r.report.mapped(
      r.file,
      r.at('apparmor_manages_nesting'),
      'lxc_configs.*.apparmor_manages_nesting',
      'apparmor.allowNesting',
      'only for a profile other than unconfined (legacy rule)',
    );
  }
  if (effective === undefined) {
    if (rawNesting)
      r.report.warn(
        r.file,
        r.at('lxc_options'),
        'lxc.apparmor.allow_nesting without a profile; kept as a raw line',
      );
    if (rawNesting !== undefined) raw.push(`lxc.apparmor.allow_nesting: ${rawNesting ? 1 : 0}`);
    if (raw.length > 0) f.rawLxc = raw;
    return;
  }
  const allowNesting = rawNesting ?? (managesNesting === true && effective !== 'unconfined');
  f.apparmor = { profile: effective, allowNesting };
  if (effective === 'unconfined')
    r.report.change(
      r.file,
      r.at(profile !== undefined ? 'apparmor_profile' : 'lxc_options'),
      'the legacy tool dropped the `lxc.apparmor.profile: unconfined` line when it re-ran on an existing container: where the line is missing, the first build writes it back and restarts the container (it runs confined until then)',
    );
  if (effective !== 'unconfined' && effective !== 'generated') {
    r.report.warn(
      r.file,
      r.at('apparmor_profile'),
      `AppArmor profile '${effective}' must be loaded on the host (legacy etc/apparmor/); Phoenix does not install profiles`,
    );
    addFieldComment(
      guest,
      'apparmor',
      `profile '${effective}' came from the legacy etc/apparmor/ folder: load it on the host`,
    );
  }
}

export function mapIdMaps(r: Reader, guest: ImportedGuest): void {
  const list = r.arr('id_maps');
  if (!list) return;
  const out: Record<string, unknown>[] = [];
  list.forEach((m, i) => {
    const at = `${r.at('id_maps')}[${i}]`;
    if (!isObject(m)) {
      r.report.error(r.file, at, 'expected an id map object');
      return;
    }
    const mr = new Reader(r.report, r.file, at, m);
    const type = mr.str('type');
    const t = type === 'u' ? 'uid' : type === 'g' ? 'gid' : type;
    if (t !== 'uid' && t !== 'gid') {
      r.report.error(r.file, mr.at('type'), `id map type must be uid or gid, found ${JSON.stringify(type)}`);
      return;
    }
    const containerId = mr.int('container_id');
    const hostId = mr.int('host_id');
    const size = mr.int('size');
    if (containerId === undefined || hostId === undefined || size === undefined) {
      r.report.error(r.file, at, 'id map needs container_id, host_id and size');
      return;
    }
    out.push({ type: t, containerId, hostId, size });
    for (const k of mr.rest())
      r.report.dropped(r.file, mr.at(k), `lxc_configs.*.id_maps[].${k}`, 'not an id map option');
  });
  if (out.length > 0) guest.fields.idmap = out;
  r.report.mapped(
    r.file,
    r.at('id_maps'),
    'lxc_configs.*.id_maps',
    'idmap',
    'the legacy tool only wrote the default map; Phoenix applies these ranges',
  );
  r.report.warn(
    r.file,
    r.at('id_maps'),
    'the legacy tool ignored these ranges (it wrote the default map); Phoenix applies them: review',
  );
  r.report.change(
    r.file,
    r.at('id_maps'),
    'the legacy tool never applied these id_maps (it wrote the default map): the first build writes these ranges and the subuid/subgid delegations, and restarts the container; files its processes own under the mapped ids change owner as seen inside',
  );
  addFieldComment(
    guest,
    'idmap',
    'the legacy tool only wrote the default map for this; Phoenix applies exactly these ranges',
  );
}

export function mapMountPoints(r: Reader, guest: ImportedGuest): void {
  const list = r.arr('mount_points');
  if (!list) return;
  const out: Record<string, unknown>[] = [];
  list.forEach((m, i) => {
    const at = `${r.at('mount_points')}[${i}]`;
    if (!isObject(m)) {
      r.report.error(r.file, at, 'expected a mount point object');
      return;
    }
    const mr = new Reader(r.report, r.file, at, m);
    const hostPath = mr.str('host_path');
    const path = mr.str('container_path');
    if (!hostPath || !path) {
      r.report.error(r.file, at, 'mount point needs host_path and container_path');
      return;
    }
    const mount: Record<string, unknown> = { hostPath, path };
    const uid = mr.int('owner_uid');
    const gid = mr.int('owner_gid');
    if (uid !== undefined && gid !== undefined) mount.owner = { uid, gid };
    else if (uid !== undefined || gid !== undefined) {
      r.report.dropped(
        r.file,
        at,
        'lxc_configs.*.mount_points[].owner_uid/gid',
        'only one of the pair given; the legacy tool needed both',
      );
    }
    const ro = mr.bool('read_only') ?? mr.bool('ro');
    if (ro) mount.readOnly = true;
    for (const k of mr.rest())
      r.report.dropped(r.file, mr.at(k), `lxc_configs.*.mount_points[].${k}`, 'not a mount point option');
    out.push(mount);
  });
  if (out.length > 0) guest.fields.mounts = out;
  r.report.mapped(
    r.file,
    r.at('mount_points'),
    'lxc_configs.*.mount_points',
    'mounts',
    'owner_uid/gid → owner',
  );
}

export function mapZfsVolumes(r: Reader, guest: ImportedGuest, storages: StorageCatalog, key: string): void {
  const list = r.arr(key);
  if (!list) return;
  const out = (guest.fields.zfsVolumes as Record<string, unknown>[] | undefined) ?? [];
  list.forEach((v: Json, i) => {
    const at = `${r.at(key)}[${i}]`;
    if (!isObject(v)) {
      r.report.error(r.file, at, 'expected a volume object');
      return;
    }
    const vr = new Reader(r.report, r.file, at, v);
    const name = vr.str('name');
    const storage = vr.str('pool') ?? vr.str('storage');
    const sizeGb = vr.int('size_gb');
    const path = vr.str('mount_point');
    if (!name || !storage || sizeGb === undefined || !path) {
      r.report.error(r.file, at, 'volume needs name, pool, size_gb and mount_point');
      return;
    }
    storages.use(storage, 'rootdir', r.file, vr.at('pool'));
    out.push({ name, storage, sizeGb, path });
    for (const k of vr.rest())
      r.report.dropped(r.file, vr.at(k), `lxc_configs.*.${key}[].${k}`, 'not a volume option');
  });
  if (out.length > 0) guest.fields.zfsVolumes = out;
  r.report.mapped(
    r.file,
    r.at(key),
    `lxc_configs.*.${key}`,
    'zfsVolumes',
    'pool → storage, mount_point → path',
  );
}

/** One path, one mount: later bind mounts or volumes on a path already used are dropped. */
export function dedupeMountPaths(r: Reader, guest: ImportedGuest): void {
  const seen = new Set<string>();
  const names = new Set<string>();
  const keep = <T extends { path?: unknown; name?: unknown }>(
    list: T[] | undefined,
    what: string,
  ): T[] | undefined => {
    if (!list) return undefined;
    const out = list.filter((m) => {
      const path = String(m.path);
      if (seen.has(path) || (m.name !== undefined && names.has(String(m.name)))) {
        r.report.warn(r.file, r.path, `${what} on ${path} repeats an earlier mount or volume name; dropped`);
        return false;
      }
      seen.add(path);
      if (m.name !== undefined) names.add(String(m.name));
      return true;
    });
    return out.length > 0 ? out : undefined;
  };
  const f = guest.fields;
  const mounts = keep(f.mounts as { path?: unknown }[] | undefined, 'bind mount');
  const vols = keep(f.zfsVolumes as { path?: unknown; name?: unknown }[] | undefined, 'volume');
  if (mounts) f.mounts = mounts;
  else delete f.mounts;
  if (vols) f.zfsVolumes = vols;
  else delete f.zfsVolumes;
}

/** `{ModelConfig: {model, max_model_len}, ...}` → `['--model=...', '--max-model-len=...']`. */
export function vllmArgs(config: Record<string, Json>): string[] {
  const args: string[] = [];
  const add = (k: string, v: Json) => {
    const flag = `--${k.replace(/_/g, '-')}`;
    if (v === true) args.push(flag);
    else if (v === false || v === null) return;
    else if (typeof v === 'object') args.push(`${flag}=${JSON.stringify(v)}`);
    else args.push(`${flag}=${String(v)}`);
  };
  for (const [k, v] of Object.entries(config)) {
    if (isObject(v)) for (const [k2, v2] of Object.entries(v)) add(k2, v2);
    else add(k, v);
  }
  return args;
}
