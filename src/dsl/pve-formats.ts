// Proxmox's own value formats, as its API schema checks them (pve-common PVE/JSONSchema.pm and the
// proxmox-api-types format table: `dns-name`, `pve-configid`, `mac-addr`, `CIDR`, `pve-storage-id`,
// `pve-bridge-id`, `address-list`, `pve-tag`).
// A config that passes these is not rejected by `pct`/`qm` for its format.

export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

/** `dns-name`: dot-separated labels of letters, digits and inner hyphens; no underscores. */
const DNS_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

export function dnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 255) return 'is longer than 255 characters';
  if (name.includes('_')) return 'contains "_", which Proxmox rejects in a DNS name';
  const bad = name.split('.').find((label) => !DNS_LABEL.test(label));
  if (bad !== undefined) {
    return bad === ''
      ? 'has an empty label (two dots, or a dot at an end)'
      : `has label "${bad}": letters, digits and inner "-" only`;
  }
  return undefined;
}

/** A DNS-valid spelling of `name`, for the fix hint. */
export function suggestDnsName(name: string): string {
  return (
    name
      .replace(/[^a-zA-Z0-9.-]+/g, '-')
      .replace(/\.{2,}/g, '.')
      .split('.')
      .map((l) => l.replace(/^-+|-+$/g, ''))
      .filter((l) => l !== '')
      .join('.') || 'guest'
  );
}

/** `pve-configid`, 2–40 characters, with the reserved names of `pct`/`qm snapshot`. */
const CONFIGID = /^[a-z][a-z0-9_-]+$/i;

export function snapshotNameProblem(name: string, kind: 'lxc' | 'vm'): string | undefined {
  if (!CONFIGID.test(name)) {
    return 'must start with a letter and contain only letters, digits, "_" and "-" (at least 2 characters)';
  }
  if (name.length > 40) return 'is longer than 40 characters';
  const lower = name.toLowerCase();
  // `current` is refused by both; `vzdump` is the CT backup snapshot; `pending` clashes with the
  // VM config's [PENDING] section.
  const reserved = kind === 'lxc' ? ['current', 'vzdump'] : ['current', 'pending'];
  if (reserved.includes(lower)) return `"${name}" is reserved by Proxmox`;
  return undefined;
}

/** `mac-addr`: six hex octets separated by colons; unicast (first octet even). */
export function macProblem(mac: string): string | undefined {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) return 'is not a MAC address like 52:54:00:12:34:56';
  if (!/^[0-9a-f][02468ace]/i.test(mac)) return 'is a multicast address; the first octet must be even';
  return undefined;
}

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  const last = groups.at(-1);
  const v4Tail = last?.includes('.') ? (isIpv4(last) ? 2 : Number.NaN) : 0;
  const hex = v4Tail ? groups.slice(0, -1) : groups;
  if (Number.isNaN(v4Tail) || !hex.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return false;
  const count = hex.length + v4Tail;
  return halves.length === 2 ? count < 8 : count === 8;
}

export function isIp(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

/** `CIDR`: an address with a prefix length (`10.0.0.5/24`, `fd00::5/64`). */
export function cidrProblem(text: string): string | undefined {
  const [address, prefix, extra] = text.split('/');
  if (address === undefined || prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) {
    return 'is not an address with a prefix length like 10.0.0.5/24';
  }
  const max = isIpv4(address) ? 32 : isIpv6(address) ? 128 : -1;
  if (max < 0) return `has "${address}", which is not an IPv4 or IPv6 address`;
  if (Number(prefix) > max) return `has prefix /${prefix}, larger than /${max}`;
  return undefined;
}

/** `pve-storage-id`: letter first, then letters, digits, `-`, `_`, `.`; not ending in a separator. */
export function storageIdProblem(id: string): string | undefined {
  return /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(id)
    ? undefined
    : 'is not a Proxmox storage id (letter first; letters, digits, - _ .)';
}

/** `pve-bridge-id`: the host bridge a NIC attaches to (`vmbr0`, `vmbr0.20`). */
export function bridgeProblem(bridge: string): string | undefined {
  return /^[-_.\w]+$/.test(bridge) ? undefined : 'is not a bridge name like vmbr0';
}

/** `address-list` (nameserver): IP addresses separated by spaces, commas or semicolons. */
export function addressListProblem(list: string): string | undefined {
  const bad = list.split(/[\s,;]+/).filter((a) => a !== '' && !isIp(a));
  return bad.length > 0 ? `has "${bad[0]}", which is not an IP address` : undefined;
}

/** `pve-tag`: letters, digits and `_ - + .`, not starting with `-`, `+` or `.`. */
export function tagProblem(tag: string): string | undefined {
  return /^[a-z0-9_][a-z0-9_\-+.]*$/i.test(tag)
    ? undefined
    : 'is not a Proxmox tag (letters, digits, _ - + .)';
}

/** The address part of a static `ip` (`10.0.0.5/24` → `10.0.0.5`); undefined for dhcp/manual. */
export function staticAddress(ip: string): string | undefined {
  if (ip === 'dhcp' || ip === 'manual' || ip === 'auto') return undefined;
  return ip.split('/')[0]?.toLowerCase();
}

/** Storage of a volume id `storage:path` (`local:vztmpl/x.tar.zst` → `local`); undefined for a plain path. */
export function volumeStorage(volid: string): string | undefined {
  if (volid.startsWith('/')) return undefined;
  const colon = volid.indexOf(':');
  return colon > 0 ? volid.slice(0, colon) : undefined;
}

/**
 * Storage types on which Proxmox cannot snapshot or linked-clone a container volume (raw files on
 * dir/NFS/CIFS, plain LVM: the storage plugin's `volume_has_feature` has no `snapshot`/`clone` for
 * them, pve-storage DirPlugin/LVMPlugin). Listed as the known-bad set, so a type
 * we know less about is not rejected on a guess.
 */
export const NO_CT_SNAPSHOTS = new Set(['dir', 'nfs', 'cifs', 'lvm']);
export const NO_CT_LINKED_CLONES = new Set(['dir', 'nfs', 'cifs', 'lvm']);

/**
 * A cloud image `qm create --scsi0 <sid>:0,import-from=<image>` accepts: a volume of content
 * `import` named `*.qcow2|raw|vmdk` (pve-storage Storage.pm:122 `$IMPORT_EXT_RE_1`; `parse_volname`
 * dies on any other name, Plugin.pm:830-836), or an absolute path on the host (root only). An
 * `iso/` volume is refused (`has wrong type 'iso' - needs to be 'images' or 'import'`, qemu-server
 * API2/Qemu.pm:205-212).
 */
export function cloudImageProblem(image: string): { message: string; fix: string } | undefined {
  if (image.startsWith('/')) return undefined;
  const m = /^([^:]+):(.*)$/.exec(image);
  const file = m?.[2] ?? image;
  const name = file.split('/').pop() ?? file;
  const stem = name.replace(/\.[^.]*$/, '');
  const good = `${m?.[1] ?? 'local'}:import/${stem}.qcow2`;
  if (!m || !file.startsWith('import/')) {
    return {
      message: `"${image}" is not a volume of content import: Proxmox imports a cloud image only from <storage>:import/<file> or an absolute path`,
      fix: `put the image under the storage's import/ folder and use "${good}"`,
    };
  }
  if (!/\.(qcow2|raw|vmdk)$/.test(file)) {
    return {
      message: `"${image}": Proxmox imports only .qcow2, .raw or .vmdk files from import/ (it cannot even list "${name}")`,
      fix: `name the file by its format: an Ubuntu/Debian cloud image (.img) is qcow2, so rename it to ${stem}.qcow2 and use "${good}"`,
    };
  }
  return undefined;
}
