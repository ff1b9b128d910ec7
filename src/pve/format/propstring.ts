// Proxmox property strings (`name=eth0,bridge=vmbr0,ip=dhcp`), pve-common JSONSchema.pm
// `parse_property_string` / `print_property_string`.

import type { Result } from '../../dsl/diagnostics.js';

/** Keys in the order they were read (JS objects keep insertion order for non-numeric keys). */
export type PropMap = Record<string, string>;

/** How a format prints: its default key (bare value, printed first) and its required keys (printed next). */
export interface PropFormat {
  defaultKey?: string;
  required?: readonly string[];
}

/** LXC `netN`: `name` is required, so it comes first. */
export const LXC_NET: PropFormat = { required: ['name'] };
/** LXC `rootfs`: the volume is the default key. */
export const LXC_ROOTFS: PropFormat = { defaultKey: 'volume' };
/** LXC `mpN`: volume first, then the required `mp`. */
export const LXC_MP: PropFormat = { defaultKey: 'volume', required: ['mp'] };
/** QEMU drives (`scsi0`, `ide2`...): the volume (`file`) is the default key. */
export const QEMU_DRIVE: PropFormat = { defaultKey: 'file' };
/** Formats with only optional keys (`features`, `ipconfigN`, `startup`, `agent`...). */
export const PLAIN: PropFormat = {};

/**
 * What a format says about one key, as far as parsing is concerned: `alias` stores the value under
 * another key, and `keyAlias` also stores the key's own name under a third one (qemu-server `netN`:
 * `virtio=<mac>` means `model=virtio,macaddr=<mac>`).
 */
export interface PropKeySchema {
  alias?: string;
  keyAlias?: string;
}

/**
 * Splits a property string. A part without `=` is the value of `defaultKey`; when no default key
 * is given such a part is an error (returned as a message, Proxmox's wording). With `format`
 * (the format's keys, as `parse_property_string` gets them) aliases are resolved and a key the
 * format lacks is an error at the part where it appears, in Proxmox's order of checks.
 */
export function parsePropertyString(
  data: string,
  defaultKey?: string,
  format?: Record<string, PropKeySchema>,
): Result<PropMap, string> {
  const res: PropMap = {};
  let sawDefault = false;
  for (const part of data.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/.exec(part);
    if (kv) {
      let k = kv[1]!;
      if (k in res) return { ok: false, error: `duplicate key in comma-separated list property: ${k}` };
      if (format) {
        const schema = format[k];
        if (schema?.alias) {
          if (schema.keyAlias) {
            if (schema.keyAlias in res)
              return { ok: false, error: `key alias '${schema.keyAlias}' is already defined` };
            res[schema.keyAlias] = k;
          }
          k = schema.alias;
        }
        if (!format[k]) return { ok: false, error: `invalid key in comma-separated list property: ${k}` };
      }
      res[k] = kv[2]!;
    } else if (!part.includes('=')) {
      if (!defaultKey)
        return { ok: false, error: 'value without key, but schema does not define a default key' };
      if (sawDefault || defaultKey in res) {
        return { ok: false, error: `duplicate key in comma-separated list property: ${defaultKey}` };
      }
      sawDefault = true;
      res[defaultKey] = part;
    } else {
      return { ok: false, error: 'missing key in comma-separated list property' };
    }
  }
  return { ok: true, value: res };
}

/** Like `parsePropertyString` but throws on malformed input; for values read from files Proxmox wrote. */
export function parseProps(data: string, defaultKey?: string): PropMap {
  const r = parsePropertyString(data, defaultKey);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Default key first (bare), then required keys (sorted), then the rest sorted; undefined values skipped. */
export function printPropertyString(
  data: Record<string, string | number | undefined>,
  format: PropFormat = PLAIN,
): string {
  const parts: string[] = [];
  const done = new Set<string>();
  const add = (key: string, bare: boolean): void => {
    if (done.has(key)) return;
    done.add(key);
    const v = data[key];
    if (v === undefined) return;
    parts.push(bare ? String(v) : `${key}=${v}`);
  };
  if (format.defaultKey) add(format.defaultKey, true);
  const keys = Object.keys(data).sort();
  for (const k of keys) if (format.required?.includes(k)) add(k, false);
  for (const k of keys) add(k, false);
  return parts.join(',');
}

const QEMU_NIC_MODELS = [
  'e1000',
  'e1000e',
  'e1000-82540em',
  'e1000-82544gc',
  'e1000-82545em',
  'i82551',
  'i82557b',
  'i82559er',
  'ne2k_isa',
  'ne2k_pci',
  'pcnet',
  'rtl8139',
  'virtio',
  'vmxnet3',
];

/** Parses a QEMU `netN` value (`virtio=BC:24:11:..,bridge=vmbr0`) into model, MAC and the rest. */
export function parseQemuNet(value: string): { model: string; macaddr?: string; rest: PropMap } | undefined {
  const rest: PropMap = {};
  let model: string | undefined;
  let macaddr: string | undefined;
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? undefined : part.slice(eq + 1);
    if (QEMU_NIC_MODELS.includes(k)) {
      model = k;
      if (v) macaddr = v;
    } else if (k === 'model' && v) model = v;
    else if (k === 'macaddr' && v) macaddr = v;
    else if (v !== undefined) rest[k] = v;
    else return undefined;
  }
  if (!model) return undefined;
  return macaddr === undefined ? { model, rest } : { model, macaddr, rest };
}

/** Prints a QEMU `netN` the way qemu-server does: `<model>=<mac>` first, then the other keys sorted. */
export function printQemuNet(net: { model: string; macaddr?: string; rest: PropMap }): string {
  const head = net.macaddr ? `${net.model}=${net.macaddr}` : net.model;
  const rest = printPropertyString(net.rest);
  return rest ? `${head},${rest}` : head;
}
