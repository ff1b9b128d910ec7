// Parameter validation with Proxmox's rules and messages (pve-common JSONSchema.pm `check_prop`,
// `check_format`, `parse_property_string`), driven by the generated schema/api.json.
import { parsePropertyString } from '../pve/format/index.js';
import apiJson from './schema/api.json' with { type: 'json' };

export interface Prop {
  type?: string;
  format?: string | Record<string, Prop>;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  optional?: number;
  default?: unknown;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
  /** Another key that must be present when this one is (`check_object`). */
  requires?: string;
  indexCount?: number;
}

export type Props = Record<string, Prop>;

const api = apiJson as unknown as {
  methods: Record<string, { name: string; properties: Props }>;
  cli: Record<string, Props>;
};

/** Parameters of an API method (`'POST /nodes/{node}/lxc'`) or a CLI-only method (`'pct exec'`). */
export function methodProps(key: string): Props {
  const m = api.methods[key];
  if (m) return m.properties;
  const c = api.cli[key];
  if (c) return c;
  throw new Error(`simulator schema has no method '${key}'`);
}

/** Looks a parameter up, expanding indexed keys (`net3` → `net[n]` when 3 < indexCount). */
export function lookupProp(props: Props, name: string): Prop | undefined {
  const direct = props[name];
  if (direct) return direct;
  const m = /^([a-z]+)(\d+)$/.exec(name);
  if (!m) return undefined;
  const idx = props[`${m[1]}[n]`];
  if (!idx) return undefined;
  const n = Number(m[2]);
  if (String(n) !== m[2] || n >= (idx.indexCount ?? 0)) return undefined;
  return idx;
}

/** All parameter names, indexed ones expanded (getopt knows every `netN`). */
export function allPropNames(props: Props): string[] {
  const out: string[] = [];
  for (const [name, p] of Object.entries(props)) {
    const m = /^([a-z]+)\[n\]$/.exec(name);
    if (m) for (let i = 0; i < (p.indexCount ?? 0); i++) out.push(`${m[1]}${i}`);
    else out.push(name);
  }
  return out;
}

export const isNumber = (v: string): boolean => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v);
export const isInteger = (v: string): boolean => /^[+-]?\d+$/.test(v);

export function parseBoolean(v: string): 0 | 1 | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return 1;
  if (/^(0|off|no|false)$/i.test(v)) return 0;
  return undefined;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const isIpv6 = (v: string): boolean =>
  /^[0-9a-fA-F:.]+$/.test(v) && v.includes(':') && (v.match(/::/g) ?? []).length <= 1;
const cidr4 = (v: string): boolean => {
  const [ip, mask, extra] = v.split('/');
  return (
    extra === undefined &&
    !!ip &&
    IPV4.test(ip) &&
    mask !== undefined &&
    /^\d+$/.test(mask) &&
    Number(mask) <= 32
  );
};
const cidr6 = (v: string): boolean => {
  const [ip, mask, extra] = v.split('/');
  return (
    extra === undefined &&
    !!ip &&
    isIpv6(ip) &&
    mask !== undefined &&
    /^\d+$/.test(mask) &&
    Number(mask) <= 128
  );
};
const DNS = /^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;

/** Named formats (`register_format`): a validator that throws Proxmox's message. */
const NAMED: Record<string, (v: string) => void> = {
  'pve-vmid': (v) => {
    if (!/^[1-9][0-9]{2,8}$/.test(v)) throw new Error('value does not look like a valid VM ID');
  },
  'dns-name': (v) => {
    if (!DNS.test(v)) throw new Error('value does not look like a valid DNS name');
  },
  'pve-configid': (v) => {
    if (!/^[a-z][a-z0-9_-]+$/i.test(v)) throw new Error(`invalid configuration ID '${v}'`);
  },
  'pve-storage-id': (v) => {
    if (v.length < 2) throw new Error(`storage ID '${v}' cannot be shorter than 2 characters`);
    if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v))
      throw new Error(`storage ID '${v}' contains illegal characters`);
  },
  'pve-node': (v) => {
    if (!/^(?:[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/.test(v))
      throw new Error('value does not look like a valid node name');
  },
  'mac-addr': (v) => {
    if (!/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v))
      throw new Error('value does not look like a valid unicast MAC address');
  },
  ipv4: (v) => {
    if (!IPV4.test(v)) throw new Error('value does not look like a valid IPv4 address');
  },
  ipv6: (v) => {
    if (!isIpv6(v)) throw new Error('value does not look like a valid IPv6 address');
  },
  CIDR: (v) => {
    if (!cidr4(v) && !cidr6(v)) throw new Error('value does not look like a valid CIDR network');
  },
  'pve-ipv4-config': (v) => {
    if (v !== 'dhcp' && v !== 'manual' && !cidr4(v))
      throw new Error('value does not look like a valid ipv4 network configuration');
  },
  'pve-ipv6-config': (v) => {
    if (!['dhcp', 'manual', 'auto'].includes(v) && !cidr6(v)) {
      throw new Error('value does not look like a valid ipv6 network configuration');
    }
  },
  'disk-size': (v) => {
    if (!/^(\d+(\.\d+)?)([KMGT])?$/.test(v))
      throw new Error(`value does not look like a valid disk size: ${v}`);
  },
  'pve-volume-id': (v) => {
    if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(v)) throw new Error(`unable to parse volume ID '${v}'`);
  },
  'pve-tag-list': (v) => {
    for (const tag of v.split(/[;, ]/).filter(Boolean)) {
      if (!/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(tag)) throw new Error('invalid characters in tag');
    }
  },
  'pve-startup-order': (v) => {
    for (const part of v.split(',')) {
      if (!/^(order=\d+|up=\d+|down=\d+|\d+)$/.test(part)) throw new Error('unable to parse startup options');
    }
  },
  'pve-configid-list': (v) => {
    for (const id of v.split(/[,; ]/).filter(Boolean)) NAMED['pve-configid']!(id);
  },
  'pve-lxc-mp-string': (v) => {
    if (/(^|\/)\.\.?(\/|$)/.test(v)) throw new Error(`${v} contains illegal character sequences`);
  },
};

/** pve-qm-ipconfig is a named property-string format. */
const NAMED_PROPSTRING: Record<string, Record<string, Prop>> = {
  'pve-qm-ipconfig': {
    ip: { format: 'pve-ipv4-config', optional: 1 },
    gw: { format: 'ipv4', optional: 1, requires: 'ip' },
    ip6: { format: 'pve-ipv6-config', optional: 1 },
    gw6: { format: 'ipv6', optional: 1, requires: 'ip6' },
  },
};

function checkPropertyString(format: Record<string, Prop>, value: string, path: string): void {
  const defaultKey = Object.entries(format).find(([, p]) => p.default_key)?.[0];
  const parsed = parsePropertyString(value, defaultKey, format);
  if (!parsed.ok) throw new Error(parsed.error);
  const errors: Record<string, string> = {};
  for (const [k, p] of Object.entries(format)) {
    if (p.alias) continue;
    const v = parsed.value[k];
    let val = v;
    if (v !== undefined && p.type === 'boolean') val = String(parseBoolean(v) ?? v);
    checkProp(val, p, `${path}.${k}`, errors);
  }
  checkRequires(parsed.value, format, path, errors);
  const keys = Object.keys(errors).sort();
  if (keys.length > 0) throw new Error(`format error\n${keys.map((k) => `${k}: ${errors[k]}\n`).join('')}`);
}

/** `check_object`'s `requires`: a present key whose companion is absent. */
function checkRequires(
  value: Record<string, unknown>,
  props: Props,
  path: string,
  errors: Record<string, string>,
): void {
  for (const k of Object.keys(value)) {
    const req = lookupProp(props, k)?.requires;
    if (req && value[req] === undefined) {
      const at = (key: string): string => (path ? `${path}.${key}` : key);
      addError(errors, at(req), `missing property - '${at(k)}' requires this property`);
    }
  }
}

function checkFormat(format: string | Record<string, Prop>, value: string, path: string): void {
  if (typeof format === 'object') {
    checkPropertyString(format, value, path);
    return;
  }
  const ps = NAMED_PROPSTRING[format];
  if (ps) {
    checkPropertyString(ps, value, path);
    return;
  }
  const direct = NAMED[format];
  if (direct) {
    direct(value);
    return;
  }
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const fn = NAMED[m[1]!];
  if (!fn) return; // formats the simulator does not check are accepted
  if (m[2] === 'list') for (const v of value.split(/[,; ]/).filter(Boolean)) fn(v);
  else if (m[2] !== 'opt' || value) fn(value);
}

function addError(errors: Record<string, string>, path: string, msg: string): void {
  errors[path] = errors[path] ? `${errors[path]}\\n${msg}` : msg;
}

/** The first error `check_prop` finds in a scalar value, in Proxmox's order of checks. */
function scalarError(value: string, schema: Prop, path: string): string | undefined {
  const type = schema.type;
  if (type === 'boolean' && value !== '0' && value !== '1')
    return `type check ('boolean') failed - got '${value}'`;
  if (type === 'integer' && !isInteger(value)) return `type check ('integer') failed - got '${value}'`;
  if (type === 'number' && !isNumber(value)) return `type check ('number') failed - got '${value}'`;
  if (schema.format) {
    try {
      checkFormat(schema.format, value, path);
    } catch (e) {
      const msg = (e as Error).message;
      return `invalid format - ${msg.endsWith('\n') ? msg : `${msg}\n`}`;
    }
  }
  if (schema.pattern && !new RegExp(`^${schema.pattern}$`).test(value))
    return 'value does not match the regex pattern';
  if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
    return `value may only be ${schema.maxLength} characters long`;
  }
  if (schema.minLength !== undefined && [...value].length < schema.minLength) {
    return `value must be at least ${schema.minLength} characters long`;
  }
  if (isNumber(value)) {
    if (schema.maximum !== undefined && Number(value) > schema.maximum) {
      return `value must have a maximum value of ${schema.maximum}`;
    }
    if (schema.minimum !== undefined && Number(value) < schema.minimum) {
      return `value must have a minimum value of ${schema.minimum}`;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    return `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`;
  }
  return undefined;
}

/** `check_prop` for a scalar value as given on the command line. */
export function checkProp(
  value: string | undefined,
  schema: Prop,
  path: string,
  errors: Record<string, string>,
): void {
  if (schema.alias) return;
  if (value === undefined) {
    if (!schema.optional) addError(errors, path, 'property is missing and it is not optional');
    return;
  }
  const err = scalarError(value, schema, path);
  if (err) addError(errors, path, err);
}

/** `validate` of all parameters against a method's schema; returns errors by parameter (empty = ok). */
export function validateParams(
  params: Record<string, string | string[]>,
  props: Props,
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const p = lookupProp(props, k);
    if (!p) {
      addError(
        errors,
        k,
        'property is not defined in schema and the schema does not allow additional properties',
      );
      continue;
    }
    if (Array.isArray(v)) continue;
    checkProp(v, p, k, errors);
  }
  checkRequires(params, props, '', errors);
  for (const name of allPropNames(props)) {
    if (name === 'node') continue;
    const p = lookupProp(props, name)!;
    if (!p.optional && params[name] === undefined && !p.alias)
      addError(errors, name, 'property is missing and it is not optional');
  }
  return errors;
}

const apiPaths = (apiJson as unknown as { paths: Record<string, Record<string, string | null>> }).paths;

/**
 * `PVE::API2->find_handler($method, $path)`: the path template that serves `path` with `method`,
 * its path variables and the child link of its GET (pvesh `ls`). Literal segments win over
 * `{vars}`, as the router tries them first (pve-common src/PVE/RESTHandler.pm find_handler).
 */
export function findHandler(
  method: string,
  path: string,
): { template: string; vars: Record<string, string>; childLink: string | null } | undefined {
  const segs = path.split('/').filter(Boolean);
  let best: { template: string; vars: Record<string, string>; score: number } | undefined;
  for (const [template, methods] of Object.entries(apiPaths)) {
    if (!(method in methods)) continue;
    const t = template.split('/').filter(Boolean);
    if (t.length !== segs.length) continue;
    const vars: Record<string, string> = {};
    let score = 0;
    let ok = true;
    for (let i = 0; i < t.length && ok; i++) {
      const v = /^\{(\w+)\}$/.exec(t[i]!);
      if (v) vars[v[1]!] = decodeURIComponent(segs[i]!);
      else if (t[i] === segs[i]) score += 1 << (t.length - i);
      else ok = false;
    }
    if (ok && (!best || score > best.score)) best = { template, vars, score };
  }
  if (!best) return undefined;
  return { template: best.template, vars: best.vars, childLink: apiPaths[best.template]!.GET ?? null };
}

/** The direct child path templates of `template` (for `pvesh ls` capabilities). */
export function childTemplates(template: string): string[] {
  const prefix = template === '/' ? '/' : `${template}/`;
  return Object.keys(apiPaths).filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
}

/** Methods the API defines on a path template. */
export function pathMethods(template: string): string[] {
  return Object.keys(apiPaths[template] ?? {});
}
