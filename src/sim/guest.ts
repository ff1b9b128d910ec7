// Guest-config helpers shared by pct and qm.
import { randomBytes } from 'node:crypto';
import type { ConfSection, GuestKind } from '../pve/format/index.js';
import { parseProps } from '../pve/format/index.js';
import { PveDie } from './errors.js';

/** `check_lock`: `CT is locked (<lock>)` / `VM is locked (<lock>)`. */
export function checkLock(sec: ConfSection, kind: GuestKind, allow: string[] = []): void {
  const lock = sec.props.lock;
  if (lock && !allow.includes(lock)) throw new PveDie(`${kind === 'lxc' ? 'CT' : 'VM'} is locked (${lock})`);
}

/** A random MAC with the datacenter default prefix BC:24:11 (pve-cluster DataCenterConfig). */
export function randomMac(): string {
  const b = randomBytes(3);
  return `BC:24:11:${[...b].map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':')}`;
}

export function isTemplate(sec: ConfSection): boolean {
  return sec.props.template === '1';
}

export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}

export interface Mountpoint {
  key: string;
  volid: string;
  props: Record<string, string>;
}

/** rootfs, then mpN in index order, of every type (`foreach_volume`, pve-container src/PVE/LXC/Config.pm). */
export function lxcMountpoints(sec: ConfSection): Mountpoint[] {
  return Object.keys(sec.props)
    .filter((k) => k === 'rootfs' || /^mp\d+$/.test(k))
    .sort((a, b) => (a === 'rootfs' ? -1 : b === 'rootfs' ? 1 : Number(a.slice(2)) - Number(b.slice(2))))
    .map((key) => {
      const props = parseProps(sec.props[key]!, 'volume');
      return { key, volid: props.volume ?? '', props };
    });
}

/** LXC volumes owned by the CT (rootfs, then mpN with a storage volume; bind/device mounts skipped). */
export function lxcVolumes(sec: ConfSection): Mountpoint[] {
  return lxcMountpoints(sec).filter((m) => mpType(m.volid) === 'volume');
}

/** `classify_mountpoint`: `/dev/...` device, other absolute paths bind, else a storage volume. */
export function mpType(volume: string): 'device' | 'bind' | 'volume' {
  if (volume.startsWith('/dev/')) return 'device';
  if (volume.startsWith('/')) return 'bind';
  return 'volume';
}

export const DRIVE_RE = /^(ide|sata|scsi|virtio)\d+$|^(efidisk0|tpmstate0)$/;

/** QEMU drives (`scsi0`, `ide2`...) with their volume; CD-ROMs without a storage volume skipped. */
export function qemuDrives(
  sec: ConfSection,
): Array<{ key: string; volid: string; props: Record<string, string> }> {
  const out: Array<{ key: string; volid: string; props: Record<string, string> }> = [];
  for (const key of Object.keys(sec.props).sort()) {
    if (!DRIVE_RE.test(key)) continue;
    const props = parseProps(sec.props[key]!, 'file');
    const volid = props.file ?? '';
    if (volid === 'none' || volid === 'cdrom' || volid.startsWith('/')) continue;
    out.push({ key, volid, props });
  }
  return out;
}

export function isCloudinit(volid: string): boolean {
  return /vm-\d+-cloudinit/.test(volid);
}

/** Booleans in configs are stored as 1/0. */
export function normBool(v: string): string {
  return /^(1|on|yes|true)$/i.test(v) ? '1' : '0';
}

/**
 * `get_unique_tags` with the default datacenter `tag-style` (case-insensitive, sorted):
 * lower-cased, sorted, de-duplicated, joined with `;` (pve-guest-common src/PVE/GuestHelpers.pm:349-378,
 * list split as pve-common src/PVE/ParseUtils.pm:49-58). Applied by pct create/set
 * (pve-container src/PVE/LXC/Config.pm:1358) and qm create/set (qemu-server src/PVE/API2/Qemu.pm:1538, 2496).
 */
export function uniqueTags(value: string): string {
  const list = value.includes('\0') ? value.split('\0') : value.replace(/[,;]/g, ' ').trim().split(/\s+/);
  const sorted = list
    .filter((t) => t !== '')
    .map((t) => t.toLowerCase())
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [...new Set(sorted)].join(';');
}

/** The fields `vmstatus` of pct and qm share: uptime, zero counters, and template/lock/tags/pid when set. */
export function commonStatus(
  rt: { status: string; startedAt?: number; pid?: number },
  sec: ConfSection,
): Record<string, string | number> {
  const running = rt.status === 'running';
  const st: Record<string, string | number> = {
    uptime: running && rt.startedAt ? Math.max(0, Math.floor((Date.now() - rt.startedAt) / 1000)) : 0,
    cpu: 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
  };
  if (isTemplate(sec)) st.template = 1;
  if (sec.props.lock) st.lock = sec.props.lock;
  if (sec.props.tags) st.tags = sec.props.tags;
  if (running && rt.pid) st.pid = rt.pid;
  return st;
}

/** Frees volumes a failed create/clone allocated; failures are ignored, as Proxmox's clean-up does. */
export function freeBestEffort(free: (volid: string) => void, volids: string[]): void {
  for (const volid of volids) {
    try {
      free(volid);
    } catch {
      // best effort
    }
  }
}
