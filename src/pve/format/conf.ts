// Guest config files as pmxcfs stores them (`/etc/pve/nodes/<node>/{lxc,qemu-server}/<vmid>.conf`).
// Reader/writer follow pve-container `parse_pct_config`/`write_pct_config` and qemu-server
// `parse_vm_config`/`write_vm_config`: description as URI-escaped `#` lines at the top of each
// section, schema keys sorted, raw `lxc.*` keys after them in their original order, then the
// pending section, QEMU `[special:...]` sections, and snapshot sections sorted by name.
import { decodeText, encodeText } from './escape.js';

export type GuestKind = 'lxc' | 'qemu';

export interface ConfSection {
  /**
   * Decoded description (Proxmox "Notes"); undefined when the section has none. As Proxmox parses
   * it: for LXC every `#` line contributes `line + "\n"` (so it ends with a newline), for QEMU the
   * lines are joined and trailing whitespace is stripped. Writing splits on "\n" and drops trailing
   * empty lines, so both forms write the same `#` lines.
   */
  description?: string;
  /** Schema keys → raw values as written in the file. */
  props: Record<string, string>;
  /** Raw `lxc.*` keys in file order (LXC only; duplicates allowed, e.g. several `lxc.idmap`). */
  lxc: Array<[string, string]>;
}

export interface GuestConf {
  main: ConfSection;
  /** `[pve:pending]` (LXC) / `[PENDING]` (QEMU); undefined when there is none. */
  pending?: ConfSection;
  /** QEMU `[special:<name>]` sections (e.g. `cloudinit`). */
  special: Record<string, ConfSection>;
  /** Snapshot sections by name. */
  snapshots: Record<string, ConfSection>;
}

export function emptySection(): ConfSection {
  return { props: {}, lxc: [] };
}

export function emptyConf(): GuestConf {
  return { main: emptySection(), special: {}, snapshots: {} };
}

// pve-container parse_pct_config: `^([a-z][a-z_]*\d*):`; qemu-server parse_vm_config also allows
// `-` (QemuServer.pm:2044, for keys like `amd-sev`, `intel-tdx`).
const KEY_RE: Record<GuestKind, RegExp> = {
  lxc: /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/,
  qemu: /^([a-z][a-z_-]*\d*):\s*(.+?)\s*$/,
};
const LXC_RAW_RE = /^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$/;
const SNAP_RE = /^\[([a-z][a-z0-9_-]+)\]\s*$/i;

/**
 * Parses a config file. Lenient like Proxmox in non-strict mode: lines it cannot place are
 * skipped (Proxmox warns and skips too), so a hand-edited file never crashes a reader.
 */
export function parseGuestConf(text: string, kind: GuestKind): GuestConf {
  const conf = emptyConf();
  let section = conf.main;
  const descr = new Map<ConfSection, string[]>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (/^\s*$/.test(line)) continue;
    const pendingHeader = kind === 'lxc' ? /^\[pve:pending\]\s*$/i : /^\[PENDING\]\s*$/i;
    if (pendingHeader.test(line)) {
      conf.pending = emptySection();
      section = conf.pending;
      continue;
    }
    const special = kind === 'qemu' ? /^\[special:([a-z]+)\]\s*$/i.exec(line) : null;
    if (special) {
      section = emptySection();
      conf.special[special[1]!] = section;
      continue;
    }
    const snap = SNAP_RE.exec(line);
    if (snap) {
      section = emptySection();
      conf.snapshots[snap[1]!] = section;
      continue;
    }
    if (line.startsWith('[')) {
      // Unknown section (QEMU warns and skips it): swallow its lines.
      section = emptySection();
      continue;
    }
    const comment = /^#(.*)$/.exec(line);
    if (comment) {
      const lines = descr.get(section) ?? [];
      lines.push(decodeText(comment[1]!));
      descr.set(section, lines);
      continue;
    }
    if (kind === 'lxc') {
      const raw = LXC_RAW_RE.exec(line);
      if (raw) {
        section.lxc.push([raw[1]!, raw[3]!]);
        continue;
      }
    }
    const kv = KEY_RE[kind].exec(line);
    if (kv) {
      if (kv[1] === 'description') section.description = decodeText(kv[2]!);
      else section.props[kv[1]!] = kv[2]!;
    }
  }
  for (const [sec, lines] of descr) {
    // pve-container appends "\n" to every comment line and keeps it; qemu-server strips trailing
    // whitespace. So an LXC description read back ends with a newline, a QEMU one does not.
    const fromComments = lines.map((l) => `${l}\n`).join('');
    const text = fromComments + (sec.description ?? '');
    sec.description = kind === 'lxc' ? text : text.replace(/\s+$/, '');
  }
  return conf;
}

/** Perl's `split(/\n/, $text)`: trailing empty fields are dropped. */
function perlSplitLines(text: string): string[] {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const SKIP = new Set(['digest', 'description', 'pending', 'snapshots', 'snapname', 'lxc']);

function sectionText(sec: ConfSection, kind: GuestKind, isPending: boolean): string {
  let raw = '';
  if (sec.description !== undefined) {
    if (sec.description !== '') {
      for (const line of perlSplitLines(sec.description)) raw += `#${encodeText(line)}\n`;
    } else if (kind === 'qemu' && isPending) {
      raw += '#\n';
    }
  }
  for (const key of Object.keys(sec.props).sort()) {
    if (SKIP.has(key)) continue;
    const value = sec.props[key]!;
    if (value.includes('\n')) throw new Error(`detected invalid newline inside property '${key}'`);
    raw += `${key}: ${value}\n`;
  }
  if (kind === 'lxc') for (const [k, v] of sec.lxc) raw += `${k}: ${v}\n`;
  return raw;
}

function hasContent(sec: ConfSection | undefined): sec is ConfSection {
  return !!sec && (Object.keys(sec.props).length > 0 || sec.lxc.length > 0 || sec.description !== undefined);
}

/** Writes a config exactly as Proxmox would (byte for byte for the keys it knows). */
export function serializeGuestConf(conf: GuestConf, kind: GuestKind): string {
  let raw = sectionText(conf.main, kind, false);
  if (hasContent(conf.pending)) {
    raw += kind === 'lxc' ? '\n[pve:pending]\n' : '\n[PENDING]\n';
    raw += sectionText(conf.pending, kind, true);
  }
  if (kind === 'qemu') {
    for (const name of Object.keys(conf.special).sort()) {
      raw += `\n[special:${name}]\n${sectionText(conf.special[name]!, kind, false)}`;
    }
  }
  for (const name of Object.keys(conf.snapshots).sort()) {
    raw += `\n[${name}]\n${sectionText(conf.snapshots[name]!, kind, false)}`;
  }
  return raw;
}

/** A deep copy, so callers can edit a section without touching the original. */
export function cloneSection(sec: ConfSection): ConfSection {
  const out: ConfSection = {
    props: { ...sec.props },
    lxc: sec.lxc.map(([k, v]) => [k, v] as [string, string]),
  };
  if (sec.description !== undefined) out.description = sec.description;
  return out;
}

/**
 * The config as `pct config`/`qm config` show it by default: pending values applied and pending
 * deletions (`delete: a,b`) removed (pve-guest-common `load_current_config` counterpart).
 */
export function withPendingApplied(conf: GuestConf): ConfSection {
  const out = cloneSection(conf.main);
  const pending = conf.pending;
  if (!pending) return out;
  for (const [k, v] of Object.entries(pending.props)) {
    if (k === 'delete') continue;
    out.props[k] = v;
  }
  if (pending.description !== undefined) out.description = pending.description;
  for (const k of (pending.props.delete ?? '').split(',')) {
    const key = k.replace(/^!/, '');
    if (key) delete out.props[key];
  }
  return out;
}
