// First pass over an untrusted config: check the shape of every field (types, ranges, formats that
// need no other field) and produce typed specs as the user wrote them — no defaults, no
// inheritance yet (./resolve.ts), no cross-guest rules (./semantic.ts).
import type { IpConfig, LxcNetSpec, LxcSpec, VmSpec, ZfsVolumeSpec } from './define.js';
import { GUEST_DECL } from './define.js';
import type {
  AppDecl,
  BindMountDecl,
  BootDecl,
  ContentType,
  FeatureDecl,
  FirewallRule,
  HealthCheckDecl,
  IdMapDecl,
  LxcFeatures,
  SnapshotDecl,
  StorageDecl,
  StorageType,
  VmNfsVolume,
} from './model.js';
import {
  addressListProblem,
  bridgeProblem,
  cidrProblem,
  dnsNameProblem,
  isIp,
  macProblem,
  storageIdProblem,
  tagProblem,
  VMID_MAX,
  VMID_MIN,
} from './pve-formats.js';
import { describe, isObject, join, type Obj, type Reader } from './reader.js';

export interface ParsedGuest<K extends 'lxc' | 'vm' = 'lxc' | 'vm'> {
  vmid: number;
  kind: K;
  /** Path of the guest in the config: `guests.103`. */
  path: string;
  spec: K extends 'lxc' ? LxcSpec : VmSpec;
}

export interface ParsedConfig {
  node?: string;
  /** Declared cluster nodes → URL (`ssh://root@pve1[:port]`, `local`). */
  nodes?: Record<string, string>;
  storages: Record<string, StorageDecl>;
  features: Record<string, FeatureDecl>;
  guests: ParsedGuest[];
  meta?: Record<string, unknown>;
}

export const STORAGE_TYPES: readonly StorageType[] = [
  'dir',
  'lvmthin',
  'lvm',
  'zfspool',
  'nfs',
  'cifs',
  'btrfs',
  'rbd',
];
const CONTENT_TYPES: readonly ContentType[] = [
  'images',
  'rootdir',
  'vztmpl',
  'iso',
  'backup',
  'snippets',
  'import',
];

const COMMON_KEYS = [
  'name',
  'description',
  'tags',
  'node',
  'cores',
  'memoryMb',
  'cloneFrom',
  'cloneFromHost',
  'cloneSnapshot',
  'template',
  'dependsOn',
  'features',
  'featureArgs',
  'app',
  'snapshots',
  'firewall',
  'boot',
  'healthCheck',
  'onSourceChange',
  'meta',
] as const;
const LXC_KEYS = [
  ...COMMON_KEYS,
  'ostemplate',
  'unprivileged',
  'swapMb',
  'rootfs',
  'net',
  'nameserver',
  'searchdomain',
  'pveFeatures',
  'apparmor',
  'gpus',
  'rawLxc',
  'idmap',
  'mounts',
  'zfsVolumes',
] as const;
const VM_KEYS = [
  ...COMMON_KEYS,
  'image',
  'storage',
  'diskGb',
  'bridge',
  'mac',
  'cloudInit',
  'agent',
  'nfsVolumes',
] as const;

/** `true` when the two key sets are equal, else the keys missing on each side (tsc names them). */
type SameKeys<Spec, Listed> = [Exclude<Spec, Listed>, Exclude<Listed, Spec>] extends [never, never]
  ? true
  : { notListed: Exclude<Spec, Listed>; notInSpec: Exclude<Listed, Spec> };
// A spec field the validator does not list would be refused as unknown; one listed but not in
// the spec would be accepted and ignored. tsc fails here on either.
const lxcKeysMatch: SameKeys<keyof LxcSpec, (typeof LXC_KEYS)[number]> = true;
const vmKeysMatch: SameKeys<keyof VmSpec, (typeof VM_KEYS)[number]> = true;
void lxcKeysMatch;
void vmKeysMatch;

/** Sets `key` on `target` only when `value` is defined, so "absent" stays distinguishable from "given". */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/**
 * Line breaks and other control characters (U+0000-U+001F, U+007F). Values like these end up in files Proxmox reads line by
 * line (guest conf, firewall rules, fstab) or in command arguments, where a line break starts a new
 * entry (a hook, a rule). Descriptions, script arguments and health-check commands may keep them.
 */
/** The value is not echoed: it may be a key, and a control character would garble the message. */
function controlProblem(v: string): string | undefined {
  // A loop rather than a regex: linters refuse control-character ranges in patterns.
  const i = [...v].findIndex((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (i < 0) return undefined;
  const code = [...v][i]!.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  const what = code === '000A' || code === '000D' ? 'a line break' : 'a control character';
  return `contains ${what} (U+${code} at position ${i + 1}), which would end up in a Proxmox config file or command line`;
}

const ONE_LINE_FIX = 'write it on one line, without control characters';

/** A string on one line (see CONTROL); reports and drops it otherwise. */
function line(
  r: Reader,
  o: Obj,
  key: string,
  path: string,
  required = false,
  fix?: string,
): string | undefined {
  const v = r.string(o, key, path, required, fix);
  const bad = v === undefined ? undefined : controlProblem(v);
  if (bad) {
    r.problem(join(path, key), bad, ONE_LINE_FIX);
    return undefined;
  }
  return v;
}

function lineItem(r: Reader) {
  return (v: unknown, path: string): string | undefined => {
    const s = r.stringItem(v, path);
    const bad = s === undefined ? undefined : controlProblem(s);
    if (bad) {
      r.problem(path, bad, ONE_LINE_FIX);
      return undefined;
    }
    return s;
  };
}

export function parseConfig(raw: unknown, r: Reader): ParsedConfig | undefined {
  // A module namespace (`import * as cfg`) or a CommonJS-style wrapper: use its default export.
  const root =
    isObject(raw) && 'default' in raw && isObject(raw.default) && !('guests' in raw) ? raw.default : raw;
  if (!isObject(root)) {
    r.problem(
      '',
      `the config must export an object, got ${describe(root)}`,
      'end the file with `export default defineConfig({ guests: { ... } })`',
    );
    return undefined;
  }
  r.onlyKeys(root, '', ['node', 'nodes', 'storages', 'features', 'guests', 'meta']);
  const parsed: ParsedConfig = { storages: {}, features: {}, guests: [] };
  put(
    parsed,
    'node',
    formatted(r, root, 'node', '', dnsNameProblem, { fix: 'use the node name (`hostname` on the host)' }),
  );
  put(parsed, 'meta', r.record(root, 'meta', ''));
  put(parsed, 'nodes', parseNodes(root, r));
  if (parsed.nodes && root.node !== undefined)
    r.problem(
      'node',
      'a config with `nodes` names each guest its node',
      'remove the top-level `node` (the first of `nodes` is the default)',
    );

  const storages = r.object(root, 'storages', '');
  for (const [id, v] of Object.entries(storages ?? {})) {
    const bad = storageIdProblem(id);
    if (bad) r.problem(join('storages', id), `"${id}" ${bad}`);
    const s = parseStorage(v, join('storages', id), r);
    if (s) parsed.storages[id] = s;
  }
  const features = r.object(root, 'features', '');
  for (const [name, v] of Object.entries(features ?? {})) {
    // Feature names become target names (`lxc/103:feature:docker`), so they stay simple.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      r.problem(
        join('features', name),
        `"${name}" is not a feature name`,
        'use letters, digits, "_", "-" and "."',
      );
    }
    const f = parseFeature(v, join('features', name), r);
    if (f) parsed.features[name] = f;
  }
  const guests = r.object(root, 'guests', '', true);
  const seen = new Map<number, string>();
  for (const [key, v] of Object.entries(guests ?? {})) {
    const path = join('guests', key);
    const vmid = Number(key);
    if (!/^\d+$/.test(key) || vmid < VMID_MIN || vmid > VMID_MAX) {
      r.problem(
        path,
        `"${key}" is not a VMID`,
        `use a whole number from ${VMID_MIN} to ${VMID_MAX} as the key`,
      );
      continue;
    }
    const other = seen.get(vmid);
    if (other !== undefined) {
      r.problem(
        path,
        `VMID ${vmid} is declared twice (also as guests.${other})`,
        'VMIDs are unique across LXC and VM',
      );
      continue;
    }
    seen.set(vmid, key);
    const g = parseGuest(v, vmid, path, r);
    if (g) parsed.guests.push(g);
  }
  return parsed;
}

/** How Phoenix reaches a node: `local` (or empty) for this machine / the simulator, else an ssh URL. */
const NODE_URL = /^ssh:\/\/(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(?::\d{1,5})?$/;

function parseNodes(root: Obj, r: Reader): Record<string, string> | undefined {
  const nodes = r.object(root, 'nodes', '');
  if (!nodes) return undefined;
  const out: Record<string, string> = {};
  for (const [name, url] of Object.entries(nodes)) {
    const path = join('nodes', name);
    const bad = dnsNameProblem(name);
    if (bad) r.problem(path, `"${name}" ${bad}`, 'use the node name (`hostname` on the node)');
    if (typeof url !== 'string' || !(url === '' || url === 'local' || NODE_URL.test(url))) {
      r.problem(
        path,
        `must be 'local' or ssh://[user@]host[:port], got ${describe(url)}`,
        `e.g. nodes: { ${name}: 'ssh://root@${name}' }`,
      );
      continue;
    }
    out[name] = url;
  }
  if (Object.keys(nodes).length === 0)
    r.problem('nodes', 'is empty', 'declare at least one node, or remove `nodes`');
  return out;
}

function parseStorage(v: unknown, path: string, r: Reader): StorageDecl | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['type', 'content', 'pool', 'path', 'nodes', 'shared']);
  const nodes = r.list(o, 'nodes', path, r.stringItem);
  const shared = r.boolean(o, 'shared', path);
  const type = r.oneOf(o, 'type', path, STORAGE_TYPES, true);
  const content = r.list(o, 'content', path, (c, p) => {
    if (typeof c === 'string' && (CONTENT_TYPES as readonly string[]).includes(c)) return c as ContentType;
    r.problem(p, `must be one of ${CONTENT_TYPES.join(', ')}, got ${describe(c)}`);
    return undefined;
  });
  if (o.content === undefined)
    r.problem(join(path, 'content'), 'missing', 'list what the storage holds, e.g. ["rootdir", "images"]');
  const pool = line(r, o, 'pool', path);
  const dir = line(r, o, 'path', path);
  if (!type || !content) return undefined;
  const s: StorageDecl = { type, content };
  put(s, 'pool', pool);
  put(s, 'path', dir);
  put(s, 'nodes', nodes);
  put(s, 'shared', shared);
  return s;
}

function parseFeature(v: unknown, path: string, r: Reader): FeatureDecl | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['script', 'description', 'args']);
  const script = line(r, o, 'script', path, true, 'add the path of the script, relative to the config file');
  const description = r.string(o, 'description', path);
  const args = r.list(o, 'args', path, r.stringItem);
  if (script === undefined) return undefined;
  if (script.trim() === '') {
    r.problem(join(path, 'script'), 'is empty', 'give the path of the script, relative to the config file');
    return undefined;
  }
  const f: FeatureDecl = { script };
  put(f, 'description', description);
  put(f, 'args', args);
  return f;
}

/** Accepts `lxc(...)`/`vm(...)` results and plain `{ kind: 'lxc' | 'vm', ... }` objects (JS, imported data). */
function unwrap(v: unknown): { kind: unknown; spec: unknown } {
  if (typeof v === 'function' && (v as unknown as Record<symbol, unknown>)[GUEST_DECL]) {
    const d = v as unknown as { kind: unknown; spec: unknown };
    return { kind: d.kind, spec: d.spec };
  }
  if (isObject(v)) {
    const { kind, ...spec } = v;
    return { kind, spec };
  }
  return { kind: undefined, spec: v };
}

function parseGuest(v: unknown, vmid: number, path: string, r: Reader): ParsedGuest | undefined {
  const { kind, spec } = unwrap(v);
  if (!isObject(spec)) {
    r.problem(
      path,
      `must be a guest declaration, got ${describe(spec)}`,
      'declare it with lxc({...}) or vm({...})',
    );
    return undefined;
  }
  if (kind !== 'lxc' && kind !== 'vm') {
    r.problem(
      path,
      'is neither an LXC nor a VM',
      "declare it with lxc({...}) or vm({...}) (or set kind: 'lxc' | 'vm')",
    );
    return undefined;
  }
  if ('vmid' in spec) {
    r.problem(
      join(path, 'vmid'),
      'is not written in the declaration',
      `the key of guests is the VMID (${vmid}); remove vmid`,
    );
  }
  const o = { ...spec };
  delete o.vmid;
  if (kind === 'lxc') {
    r.onlyKeys(o, path, LXC_KEYS);
    return { vmid, kind, path, spec: parseLxc(o, path, r) };
  }
  r.onlyKeys(o, path, VM_KEYS);
  return { vmid, kind, path, spec: parseVm(o, path, r) };
}

/** A string field that must also pass a Proxmox format check. */
function formatted(
  r: Reader,
  o: Obj,
  key: string,
  path: string,
  problem: (v: string) => string | undefined,
  opts: { required?: boolean; fix?: string } = {},
): string | undefined {
  const v = r.string(o, key, path, opts.required, opts.fix);
  const bad = v === undefined ? undefined : problem(v);
  if (bad) {
    r.problem(join(path, key), `"${v}" ${bad}`, opts.fix);
    return undefined;
  }
  return v;
}

function vmidItem(r: Reader) {
  return (v: unknown, path: string): number | undefined => {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n)) return n;
    r.problem(path, `must be a VMID, got ${describe(v)}`);
    return undefined;
  };
}

function parseCommon(o: Obj, path: string, r: Reader, target: LxcSpec | VmSpec): void {
  const name = r.string(o, 'name', path, true, 'add the hostname/VM name (a DNS name)');
  target.name = name ?? '';
  // semantic.ts checks the DNS format of non-empty names; '' also stands for "missing" there.
  if (name === '') {
    r.problem(
      join(path, 'name'),
      'is empty: Proxmox needs a DNS name (letters, digits, inner "-", dots) as hostname/VM name',
      'give the guest a name, e.g. "web"',
    );
  }
  put(target, 'description', r.string(o, 'description', path));
  put(
    target,
    'tags',
    r.list(o, 'tags', path, (v, p) => {
      const tag = r.stringItem(v, p);
      const bad = tag === undefined ? undefined : tagProblem(tag);
      if (bad) r.problem(p, `"${tag}" ${bad}`);
      return bad ? undefined : tag;
    }),
  );
  put(
    target,
    'node',
    formatted(r, o, 'node', path, dnsNameProblem, { fix: 'use the node name (`hostname` on the host)' }),
  );
  put(target, 'cores', r.number(o, 'cores', path, { min: 1, max: 8192 }));
  put(target, 'memoryMb', r.number(o, 'memoryMb', path, { min: 16, unit: 'MiB' }));
  if (o.cloneFrom !== undefined) put(target, 'cloneFrom', vmidItem(r)(o.cloneFrom, join(path, 'cloneFrom')));
  if (o.cloneFromHost !== undefined)
    put(target, 'cloneFromHost', vmidItem(r)(o.cloneFromHost, join(path, 'cloneFromHost')));
  put(target, 'cloneSnapshot', line(r, o, 'cloneSnapshot', path));
  put(target, 'template', r.boolean(o, 'template', path));
  put(target, 'dependsOn', r.list(o, 'dependsOn', path, vmidItem(r)));
  put(target, 'features', r.list(o, 'features', path, lineItem(r)));
  put(target, 'featureArgs', r.list(o, 'featureArgs', path, r.stringItem));
  const app = r.object(o, 'app', path);
  if (app) put(target, 'app', parseApp(app, join(path, 'app'), r));
  put(
    target,
    'snapshots',
    r.list(o, 'snapshots', path, (v, p) => parseSnapshot(v, p, r)),
  );
  const fw = r.object(o, 'firewall', path);
  if (fw) put(target, 'firewall', parseFirewall(fw, join(path, 'firewall'), r));
  const boot = r.object(o, 'boot', path);
  if (boot) put(target, 'boot', parseBoot(boot, join(path, 'boot'), r));
  const hc = r.object(o, 'healthCheck', path);
  if (hc) put(target, 'healthCheck', parseHealthCheck(hc, join(path, 'healthCheck'), r));
  put(target, 'onSourceChange', r.oneOf(o, 'onSourceChange', path, ['warn', 'replace'] as const));
  put(target, 'meta', r.record(o, 'meta', path));
}

function parseApp(o: Obj, path: string, r: Reader): AppDecl | undefined {
  r.onlyKeys(o, path, ['script', 'args']);
  const script = line(r, o, 'script', path, true, 'add the path of the script, relative to the config file');
  const args = r.list(o, 'args', path, r.stringItem);
  if (script === undefined) return undefined;
  const a: AppDecl = { script };
  put(a, 'args', args);
  return a;
}

function parseSnapshot(v: unknown, path: string, r: Reader): SnapshotDecl | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['name', 'after', 'description']);
  const name = r.string(o, 'name', path, true);
  const after = r.oneOf(o, 'after', path, ['config', 'features', 'app'] as const, true);
  const description = r.string(o, 'description', path);
  if (name === undefined || after === undefined) return undefined;
  const s: SnapshotDecl = { name, after };
  put(s, 'description', description);
  return s;
}

function addressOrCidr(r: Reader, o: Obj, key: string, path: string): string | undefined {
  const v = line(r, o, key, path);
  // Proxmox also accepts aliases and `+ipset` names here; only things that look like addresses are checked.
  if (v !== undefined && /^[0-9a-f.:/]+$/i.test(v) && /[.:]/.test(v)) {
    const bad = v
      .split(',')
      .map((part) =>
        part.includes('/') ? cidrProblem(part) : isIp(part) ? undefined : 'is not an IP address',
      )
      .find((p) => p !== undefined);
    if (bad) r.problem(join(path, key), `"${v}" ${bad}`);
  }
  return v;
}

function portSpec(r: Reader, o: Obj, key: string, path: string): string | undefined {
  const raw = o[key];
  const v = typeof raw === 'number' ? String(raw) : r.string(o, key, path);
  if (v === undefined) return undefined;
  const ok = v.split(',').every((part) => {
    const ends = part.split(':');
    if (ends.length > 2) return false;
    return ends.every((e) =>
      /^\d+$/.test(e) ? Number(e) >= 1 && Number(e) <= 65535 : /^[a-z][a-z0-9-]*$/i.test(e),
    );
  });
  if (!ok)
    r.problem(join(path, key), `"${v}" is not a port list`, 'use 443, 80,443 or 8000:8100 (ports 1-65535)');
  return v;
}

function parseFirewall(o: Obj, path: string, r: Reader): LxcSpec['firewall'] {
  r.onlyKeys(o, path, ['enabled', 'policyIn', 'policyOut', 'rules']);
  const actions = ['ACCEPT', 'DROP', 'REJECT'] as const;
  const fw: NonNullable<LxcSpec['firewall']> = {};
  put(fw, 'enabled', r.boolean(o, 'enabled', path));
  put(fw, 'policyIn', r.oneOf(o, 'policyIn', path, actions));
  put(fw, 'policyOut', r.oneOf(o, 'policyOut', path, actions));
  put(
    fw,
    'rules',
    r.list(o, 'rules', path, (v, p) => {
      const rule = r.objectItem(v, p);
      if (!rule) return undefined;
      r.onlyKeys(rule, p, [
        'direction',
        'action',
        'source',
        'dest',
        'proto',
        'dport',
        'sport',
        'iface',
        'comment',
        'enabled',
      ]);
      const direction = r.oneOf(rule, 'direction', p, ['in', 'out'] as const, true);
      const action = r.oneOf(rule, 'action', p, actions, true);
      const out: Partial<FirewallRule> = {};
      put(out, 'source', addressOrCidr(r, rule, 'source', p));
      put(out, 'dest', addressOrCidr(r, rule, 'dest', p));
      put(out, 'proto', line(r, rule, 'proto', p));
      put(out, 'dport', portSpec(r, rule, 'dport', p));
      put(out, 'sport', portSpec(r, rule, 'sport', p));
      put(out, 'iface', line(r, rule, 'iface', p));
      put(out, 'comment', line(r, rule, 'comment', p));
      put(out, 'enabled', r.boolean(rule, 'enabled', p));
      if ((out.dport || out.sport) && !out.proto) {
        r.problem(
          p,
          'has a port but no proto',
          'add proto: "tcp" or "udp" (Proxmox needs it to match ports)',
        );
      }
      if (!direction || !action) return undefined;
      return { direction, action, ...out };
    }),
  );
  return fw;
}

function parseBoot(o: Obj, path: string, r: Reader): Partial<BootDecl> {
  r.onlyKeys(o, path, ['onboot', 'order', 'upDelayS', 'downDelayS']);
  const b: Partial<BootDecl> = {};
  put(b, 'onboot', r.boolean(o, 'onboot', path));
  put(b, 'order', r.number(o, 'order', path, { min: 0 }));
  put(b, 'upDelayS', r.number(o, 'upDelayS', path, { min: 0 }));
  put(b, 'downDelayS', r.number(o, 'downDelayS', path, { min: 0 }));
  return b;
}

function parseHealthCheck(o: Obj, path: string, r: Reader): HealthCheckDecl | undefined {
  r.onlyKeys(o, path, ['command', 'retries', 'intervalS']);
  const command = r.string(o, 'command', path, true);
  const retries = r.number(o, 'retries', path, { min: 0 }) ?? 3;
  const intervalS = r.number(o, 'intervalS', path, { min: 1 }) ?? 10;
  return command === undefined ? undefined : { command, retries, intervalS };
}

function absolutePath(r: Reader, o: Obj, key: string, path: string, required: boolean): string | undefined {
  const v = line(r, o, key, path, required, 'add an absolute path');
  if (v === undefined) return undefined;
  if (!v.startsWith('/')) {
    r.problem(
      join(path, key),
      `"${v}" is not an absolute path`,
      `write it from the root: /${v.replace(/^\.?\/*/, '')}`,
    );
    return undefined;
  }
  if (/(^|\/)\.\.?(\/|$)/.test(v)) {
    r.problem(join(path, key), `"${v}" contains "." or ".." segments, which Proxmox rejects`);
    return undefined;
  }
  return v;
}

function parseNet(v: unknown, path: string, r: Reader): LxcNetSpec | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['index', 'name', 'bridge', 'ip', 'gw', 'hwaddr', 'vlan', 'firewall']);
  const n: Partial<LxcNetSpec> = {};
  put(n, 'index', r.number(o, 'index', path, { min: 0, max: 31 }));
  const name = r.string(o, 'name', path);
  if (name !== undefined && !/^[a-zA-Z0-9_.@-]{1,15}$/.test(name)) {
    r.problem(
      join(path, 'name'),
      `"${name}" is not an interface name`,
      'use up to 15 letters/digits, like eth0',
    );
  } else put(n, 'name', name);
  put(
    n,
    'bridge',
    formatted(r, o, 'bridge', path, bridgeProblem, { required: true, fix: 'use a host bridge, e.g. vmbr0' }),
  );
  const ip = r.string(o, 'ip', path, true, 'add dhcp, manual or an address like 10.0.0.5/24');
  if (ip !== undefined && ip !== 'dhcp' && ip !== 'manual') {
    const bad = cidrProblem(ip);
    if (bad) r.problem(join(path, 'ip'), `"${ip}" ${bad}`, 'use dhcp, manual or an address like 10.0.0.5/24');
    else n.ip = ip as IpConfig; // checked just above
  } else put(n, 'ip', ip as IpConfig | undefined);
  const gw = r.string(o, 'gw', path);
  if (gw !== undefined && !isIp(gw))
    r.problem(join(path, 'gw'), `"${gw}" is not an IP address`, 'no prefix length on a gateway');
  else put(n, 'gw', gw);
  const hwaddr = r.string(o, 'hwaddr', path);
  const macBad = hwaddr === undefined ? undefined : macProblem(hwaddr);
  if (macBad) r.problem(join(path, 'hwaddr'), `"${hwaddr}" ${macBad}`);
  else put(n, 'hwaddr', hwaddr);
  put(n, 'vlan', r.number(o, 'vlan', path, { min: 1, max: 4094 }));
  put(n, 'firewall', r.boolean(o, 'firewall', path));
  if (n.bridge === undefined || n.ip === undefined) return undefined;
  return n as LxcNetSpec;
}

function parseIdMap(v: unknown, path: string, r: Reader): IdMapDecl | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['type', 'containerId', 'hostId', 'size']);
  const type = r.oneOf(o, 'type', path, ['uid', 'gid'] as const, true);
  const containerId = r.number(o, 'containerId', path, { min: 0, max: 65535, required: true });
  const hostId = r.number(o, 'hostId', path, { min: 0, max: 4294967294, required: true });
  const size = r.number(o, 'size', path, { min: 1, required: true });
  if (type === undefined || containerId === undefined || hostId === undefined || size === undefined)
    return undefined;
  if (containerId + size > 65536) {
    r.problem(
      join(path, 'size'),
      `maps container ids ${containerId}..${containerId + size - 1}, beyond 65535`,
      `use a size of at most ${65536 - containerId}`,
    );
    return undefined;
  }
  return { type, containerId, hostId, size };
}

function parseMount(v: unknown, path: string, r: Reader): BindMountDecl | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['hostPath', 'path', 'owner', 'readOnly']);
  const hostPath = absolutePath(r, o, 'hostPath', path, true);
  const mp = absolutePath(r, o, 'path', path, true);
  if (mp === '/')
    r.problem(join(path, 'path'), 'cannot be /', 'the root is the rootfs; mount somewhere below it');
  const owner = r.object(o, 'owner', path);
  let own: BindMountDecl['owner'];
  if (owner) {
    r.onlyKeys(owner, join(path, 'owner'), ['uid', 'gid']);
    const uid = r.number(owner, 'uid', join(path, 'owner'), { min: 0, max: 65535, required: true });
    const gid = r.number(owner, 'gid', join(path, 'owner'), { min: 0, max: 65535, required: true });
    if (uid !== undefined && gid !== undefined) own = { uid, gid };
  }
  const readOnly = r.boolean(o, 'readOnly', path);
  if (hostPath === undefined || mp === undefined || mp === '/') return undefined;
  const m: BindMountDecl = { hostPath, path: mp };
  put(m, 'owner', own);
  put(m, 'readOnly', readOnly);
  return m;
}

function parseZfsVolume(v: unknown, path: string, r: Reader): ZfsVolumeSpec | undefined {
  const o = r.objectItem(v, path);
  if (!o) return undefined;
  r.onlyKeys(o, path, ['name', 'storage', 'sizeGb', 'path']);
  const name = line(r, o, 'name', path, true);
  const storage = line(r, o, 'storage', path, true, 'add a declared storage id');
  const sizeGb = r.number(o, 'sizeGb', path, { min: 0.001, integer: false, required: true, unit: 'GiB' });
  const mp = absolutePath(r, o, 'path', path, true);
  if (name === undefined || storage === undefined || sizeGb === undefined || mp === undefined)
    return undefined;
  return { name, storage, sizeGb, path: mp };
}

function parseLxcFeatures(o: Obj, path: string, r: Reader): LxcFeatures {
  r.onlyKeys(o, path, ['nesting', 'keyctl', 'fuse', 'mknod', 'mount']);
  const f: LxcFeatures = {};
  put(f, 'nesting', r.boolean(o, 'nesting', path));
  put(f, 'keyctl', r.boolean(o, 'keyctl', path));
  put(f, 'fuse', r.boolean(o, 'fuse', path));
  put(f, 'mknod', r.boolean(o, 'mknod', path));
  put(f, 'mount', r.list(o, 'mount', path, lineItem(r)));
  return f;
}

function parseLxc(o: Obj, path: string, r: Reader): LxcSpec {
  const s = {} as LxcSpec;
  parseCommon(o, path, r, s);
  put(s, 'ostemplate', line(r, o, 'ostemplate', path));
  put(s, 'unprivileged', r.boolean(o, 'unprivileged', path));
  put(s, 'swapMb', r.number(o, 'swapMb', path, { min: 0, unit: 'MiB' }));
  const rootfs = r.object(o, 'rootfs', path);
  if (rootfs) {
    const p = join(path, 'rootfs');
    r.onlyKeys(rootfs, p, ['storage', 'sizeGb']);
    const fs: NonNullable<LxcSpec['rootfs']> = {};
    put(fs, 'storage', line(r, rootfs, 'storage', p));
    put(fs, 'sizeGb', r.number(rootfs, 'sizeGb', p, { min: 0.001, integer: false, unit: 'GiB' }));
    s.rootfs = fs;
  }
  put(
    s,
    'net',
    r.list(o, 'net', path, (v, p) => parseNet(v, p, r)),
  );
  put(s, 'nameserver', formatted(r, o, 'nameserver', path, addressListProblem));
  put(s, 'searchdomain', line(r, o, 'searchdomain', path));
  const pf = r.object(o, 'pveFeatures', path);
  if (pf) s.pveFeatures = parseLxcFeatures(pf, join(path, 'pveFeatures'), r);
  const aa = r.object(o, 'apparmor', path);
  if (aa) {
    const p = join(path, 'apparmor');
    r.onlyKeys(aa, p, ['profile', 'allowNesting']);
    const profile = line(r, aa, 'profile', p, true, 'add a profile name, e.g. unconfined');
    const allowNesting = r.boolean(aa, 'allowNesting', p);
    if (profile !== undefined)
      s.apparmor = allowNesting === undefined ? { profile } : { profile, allowNesting };
  }
  put(
    s,
    'gpus',
    r.list(o, 'gpus', path, (v, p) => {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
      r.problem(p, `must be a GPU index (0, 1, ...), got ${describe(v)}`);
      return undefined;
    }),
  );
  put(
    s,
    'rawLxc',
    r.list(o, 'rawLxc', path, (v, p) => {
      const line = lineItem(r)(v, p);
      if (line !== undefined && !/^lxc\.[a-z0-9_.-]+\s*(:|=)/i.test(line)) {
        r.problem(
          p,
          `"${line}" is not a raw LXC key line`,
          'write it as "lxc.key: value", e.g. "lxc.mount.auto: sys:rw"',
        );
        return undefined;
      }
      return line;
    }),
  );
  put(
    s,
    'idmap',
    r.list(o, 'idmap', path, (v, p) => parseIdMap(v, p, r)),
  );
  put(
    s,
    'mounts',
    r.list(o, 'mounts', path, (v, p) => parseMount(v, p, r)),
  );
  put(
    s,
    'zfsVolumes',
    r.list(o, 'zfsVolumes', path, (v, p) => parseZfsVolume(v, p, r)),
  );
  return s;
}

function parseCloudInit(o: Obj, path: string, r: Reader): NonNullable<VmSpec['cloudInit']> {
  r.onlyKeys(o, path, ['user', 'password', 'sshKeys', 'ip', 'gw', 'nameserver', 'searchdomain']);
  const c: NonNullable<VmSpec['cloudInit']> = {};
  const user = line(r, o, 'user', path);
  // Proxmox takes any string for ciuser; cloud-init makes it a Unix account, so it must be one.
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(user)) {
    r.problem(
      join(path, 'user'),
      `"${user}" is not a user name`,
      'use up to 32 letters, digits, "_", "-" and "." (not starting with "-" or "."), e.g. "ops"',
    );
  } else put(c, 'user', user);
  put(c, 'password', r.string(o, 'password', path));
  put(c, 'sshKeys', r.list(o, 'sshKeys', path, lineItem(r)));
  const ip = r.string(o, 'ip', path);
  const bad = ip === undefined || ip === 'dhcp' ? undefined : cidrProblem(ip);
  if (bad) r.problem(join(path, 'ip'), `"${ip}" ${bad}`, 'use dhcp or an address like 10.0.0.5/24');
  else put(c, 'ip', ip as 'dhcp' | `${string}/${number}` | undefined); // checked just above
  const gw = r.string(o, 'gw', path);
  if (gw !== undefined && !isIp(gw)) r.problem(join(path, 'gw'), `"${gw}" is not an IP address`);
  else put(c, 'gw', gw);
  put(c, 'nameserver', formatted(r, o, 'nameserver', path, addressListProblem));
  put(c, 'searchdomain', line(r, o, 'searchdomain', path));
  return c;
}

function parseVm(o: Obj, path: string, r: Reader): VmSpec {
  const s = {} as VmSpec;
  parseCommon(o, path, r, s);
  put(s, 'image', line(r, o, 'image', path));
  put(s, 'storage', line(r, o, 'storage', path));
  put(s, 'diskGb', r.number(o, 'diskGb', path, { min: 0.001, integer: false, unit: 'GiB' }));
  put(s, 'bridge', formatted(r, o, 'bridge', path, bridgeProblem, { fix: 'use a host bridge, e.g. vmbr0' }));
  const mac = r.string(o, 'mac', path);
  const macBad = mac === undefined ? undefined : macProblem(mac);
  if (macBad) r.problem(join(path, 'mac'), `"${mac}" ${macBad}`);
  else put(s, 'mac', mac);
  const ci = r.object(o, 'cloudInit', path);
  if (ci) s.cloudInit = parseCloudInit(ci, join(path, 'cloudInit'), r);
  put(s, 'agent', r.boolean(o, 'agent', path));
  put(
    s,
    'nfsVolumes',
    r.list(o, 'nfsVolumes', path, (v, p): VmNfsVolume | undefined => {
      const n = r.objectItem(v, p);
      if (!n) return undefined;
      r.onlyKeys(n, p, ['server', 'export', 'mountPoint', 'options']);
      const server = line(r, n, 'server', p, true, 'add the NFS server address');
      const exp = absolutePath(r, n, 'export', p, true);
      const mountPoint = absolutePath(r, n, 'mountPoint', p, true);
      const options = line(r, n, 'options', p);
      if (server === undefined || exp === undefined || mountPoint === undefined) return undefined;
      const out: VmNfsVolume = { server, export: exp, mountPoint };
      put(out, 'options', options);
      return out;
    }),
  );
  return s;
}
