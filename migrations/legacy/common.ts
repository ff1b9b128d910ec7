// Translations shared by LXC and VM entries: firewall, boot order, dependencies, feature lists,
// health checks, and the `meta` bucket for data Phoenix carries without acting on it.

import type { FirewallAction, FirewallRule } from '../../src/dsl/model.js';
import type { ImportedGuest } from './ir.js';
import { addFieldComment } from './ir.js';
import { isObject, type Json, type Reader } from './reader.js';

/** Legacy keys Phoenix keeps in `meta` (known, not modelled), with why for the report. */
export const META_KEYS: Record<string, string> = {
  traefik_service: 'read by the legacy Traefik/DNS generators, not by guest provisioning',
  trigger_sync_on_completion: 'a LetsGo step of the legacy CLI',
  vllm_engine_config: 'read by the vLLM application script inside the guest',
  portainer_role: 'Portainer topology (legacy portainer-manager)',
  portainer_environment_name: 'Portainer topology (legacy portainer-manager)',
  portainer_agent_hostname: 'Portainer topology (legacy portainer-manager)',
  portainer_config: 'Portainer topology (legacy portainer-manager)',
  portainer_admin_user: 'Portainer admin login (legacy portainer-manager)',
  docker_stacks: 'Portainer stacks (legacy portainer-manager)',
  docker_compose_files: 'Portainer stacks (legacy portainer-manager)',
  docker_firewall_rules: 'Docker-level firewall (legacy)',
  swarm_role: 'Docker Swarm topology',
  node_labels: 'Docker Swarm topology',
  ports: 'unused by the legacy code',
  tests: 'post-deploy tests (legacy, only dead code read them)',
  integration_tests: 'post-deploy tests (legacy)',
  run_integration_tests: 'post-deploy tests (legacy)',
  vllm: 'post-deploy tests (legacy)',
  health_checks: 'legacy host-side check scripts',
  dns_records: 'unused by the legacy code',
  public_interface: 'rootesting experiment',
  qm_options: 'never read by the legacy code',
  count: 'never read by the legacy code',
  post_create_scripts: 'scripts of the 2025-09 VM prototype',
  vllm_model: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_tensor_parallel_size: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_gpu_memory_utilization: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_max_model_len: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_args: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_port: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_served_model_name: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_parameters: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_quantization: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_trust_remote_code: 'vLLM parameters (pre-vllm_engine_config)',
  vllm_model_type: 'vLLM parameters (pre-vllm_engine_config)',
};

/** Keys whose value is a secret: never copied into a file that goes under version control. */
export const SECRET_KEYS = new Set(['portainer_admin_password', 'password', 'password_hash', 'api_key']);

export function sortedObject(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = value[k];
  return out;
}

/** A guest-level `description` or `comment` becomes the Proxmox notes (`description`). */
export function mapDescription(r: Reader, guest: ImportedGuest, section: string): void {
  for (const key of ['description', 'comment']) {
    if (!r.has(key) || typeof r.value[key] !== 'string') continue;
    const text = r.str(key) ?? '';
    if (guest.fields.description === undefined) {
      guest.fields.description = text;
      r.report.mapped(r.file, r.at(key), `${section}.${key}`, 'description', 'Proxmox notes');
    } else {
      r.report.dropped(r.file, r.at(key), `${section}.${key}`, 'description already set from another key');
    }
  }
}

/** Moves every key not yet read into `meta` (known ones with a reason, unknown ones flagged). */
export function collectMeta(r: Reader, guest: ImportedGuest, field: (k: string) => string): void {
  const meta: Record<string, unknown> = {
    ...((guest.fields.meta as Record<string, unknown> | undefined) ?? {}),
  };
  for (const key of r.rest()) {
    const v = r.raw(key);
    if (v === undefined) {
      r.report.dropped(r.file, r.at(key), field(key), 'null: no value');
      continue;
    }
    if (SECRET_KEYS.has(key)) {
      r.report.dropped(r.file, r.at(key), field(key), 'a secret: not copied into phoenix.config.ts');
      continue;
    }
    meta[key] = v;
    const why = META_KEYS[key];
    if (why) r.report.meta(r.file, r.at(key), field(key), why);
    else {
      r.report.meta(r.file, r.at(key), field(key), 'not a field the importer knows');
      r.report.warn(r.file, r.at(key), `unknown legacy field '${key}' kept in meta`);
      addFieldComment(guest, 'meta', `'${key}' is not a known legacy field: kept here for you to review`);
    }
  }
  if (Object.keys(meta).length > 0) guest.fields.meta = sortedObject(meta);
}

const ACTIONS: FirewallAction[] = ['ACCEPT', 'DROP', 'REJECT'];

export function mapFirewall(r: Reader, guest: ImportedGuest, field: string): boolean | undefined {
  const fw = r.obj('firewall');
  if (!fw) return undefined;
  const enabled = fw.bool('enabled') ?? false;
  const rules: FirewallRule[] = [];
  const seen = new Map<string, number>();
  (fw.arr('rules') ?? []).forEach((raw, i) => {
    const place = fw.at('rules');
    const at = `${place}[${i}]`;
    if (!isObject(raw)) {
      r.report.error(r.file, at, 'expected a firewall rule object');
      return;
    }
    const type = typeof raw.type === 'string' ? raw.type.toLowerCase() : 'in';
    if (type !== 'in' && type !== 'out') {
      r.report.warn(r.file, at, `rule type '${String(raw.type)}' is not in/out; rule dropped`);
      r.report.dropped(r.file, at, `${field}.rules[]`, `type '${String(raw.type)}' not supported`);
      return;
    }
    if (raw.type === undefined) r.report.warn(r.file, at, "rule has no type; imported as 'in'");
    const action = typeof raw.action === 'string' ? raw.action.toUpperCase() : '';
    if (!(ACTIONS as string[]).includes(action)) {
      r.report.error(
        r.file,
        `${at}.action`,
        `firewall action must be ACCEPT, DROP or REJECT, found ${JSON.stringify(raw.action)}`,
      );
      return;
    }
    const rule: FirewallRule = { direction: type, action: action as FirewallAction };
    const s = (k: string) =>
      typeof raw[k] === 'string' || typeof raw[k] === 'number' ? String(raw[k]) : undefined;
    const source = s('source');
    const dest = s('dest');
    const proto = s('proto');
    const port = s('port') ?? s('dport');
    const sport = s('sport');
    const iface = s('iface');
    const comment = s('comment');
    if (source) rule.source = source;
    if (dest) rule.dest = dest;
    if (proto) rule.proto = proto.toLowerCase();
    if (port) rule.dport = port;
    if (sport) rule.sport = sport;
    if (iface) rule.iface = iface;
    if (comment) rule.comment = comment;
    if (raw.enabled === false) rule.enabled = false;
    const known = new Set([
      'type',
      'action',
      'source',
      'dest',
      'proto',
      'port',
      'dport',
      'sport',
      'iface',
      'comment',
      'enabled',
    ]);
    for (const k of Object.keys(raw)) {
      if (!known.has(k))
        r.report.dropped(r.file, `${at}.${k}`, `${field}.rules[].${k}`, 'not a Proxmox firewall rule option');
    }
    if ((port || sport) && !proto) {
      // pve-firewall refuses such a rule, so it never took effect; guessing tcp would invent one.
      r.report.warn(
        r.file,
        at,
        'a port without a protocol: Proxmox rejects dport/sport without proto; rule dropped',
      );
      r.report.dropped(r.file, at, `${field}.rules[]`, 'port without proto: Proxmox rejects it');
      return;
    }
    const key = JSON.stringify({ ...rule, comment: undefined });
    const dup = seen.get(key);
    if (dup !== undefined) {
      r.report.warn(r.file, at, `duplicate of rules[${dup}]; dropped`);
      r.report.change(
        r.file,
        at,
        `the legacy tool wrote this duplicate of rules[${dup}] into the guest's .fw file: the first build rewrites the file without it`,
      );
      r.report.dropped(r.file, at, `${field}.rules[]`, 'exact duplicate of an earlier rule');
      return;
    }
    seen.set(key, i);
    rules.push(rule);
  });
  for (const k of fw.rest()) {
    r.report.dropped(r.file, fw.at(k), `${field}.${k}`, 'not a guest firewall option');
  }
  r.report.mapped(r.file, r.at('firewall'), field, 'firewall', 'rules: type → direction, port → dport');
  guest.fields.firewall = { enabled, rules };
  if (!enabled && rules.length > 0) {
    addFieldComment(guest, 'firewall', 'disabled in the legacy config, rules kept for when you enable it');
  }
  return enabled;
}

export function mapBoot(r: Reader, guest: ImportedGuest, section: string): void {
  const onboot = r.bool('start_at_boot');
  const order = r.int('boot_order');
  const delay = r.int('boot_delay');
  for (const [k, v] of [
    ['start_at_boot', onboot],
    ['boot_order', order],
    ['boot_delay', delay],
  ] as const) {
    if (v !== undefined)
      r.report.mapped(
        r.file,
        r.at(k),
        `${section}.${k}`,
        `boot.${k === 'start_at_boot' ? 'onboot' : k === 'boot_order' ? 'order' : 'upDelayS/downDelayS'}`,
      );
  }
  const boot: Record<string, unknown> = { onboot: onboot ?? false };
  // order 0 / delay 0 are what an unset Proxmox `startup` means; printing them is noise.
  if (order !== undefined && (order > 0 || onboot)) boot.order = order;
  if (delay !== undefined && delay > 0) {
    // The legacy tool wrote `--startup order=N,up=D,down=D`.
    boot.upDelayS = delay;
    boot.downDelayS = delay;
  }
  if (onboot || Object.keys(boot).length > 1) guest.fields.boot = boot;
}

export function mapDependencies(r: Reader, section: string): { vmid: number; path: string }[] {
  const raw = r.raw('dependencies');
  if (raw === undefined) return [];
  let list: Json[];
  if (Array.isArray(raw)) list = raw;
  else if (typeof raw === 'string' || typeof raw === 'number') {
    r.report.warn(r.file, r.at('dependencies'), 'a single id instead of a list; read as a list of one');
    list = String(raw)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  } else {
    r.report.error(r.file, r.at('dependencies'), 'expected a list of guest ids');
    return [];
  }
  const out: { vmid: number; path: string }[] = [];
  list.forEach((v, i) => {
    const at = `${r.at('dependencies')}[${i}]`;
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;
    if (n === undefined || !Number.isInteger(n)) {
      r.report.error(r.file, at, `expected a guest id, found ${JSON.stringify(v)}`);
      return;
    }
    out.push({ vmid: n, path: at });
  });
  r.report.mapped(
    r.file,
    r.at('dependencies'),
    `${section}.dependencies`,
    'dependsOn',
    'ids as numbers, LXC or VM',
  );
  return out;
}

export function mapFeatureList(r: Reader, list: Json[], section: string): string[] {
  const out: string[] = [];
  list.forEach((v, i) => {
    const at = `${r.at('features')}[${i}]`;
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]+$/.test(v)) {
      r.report.error(r.file, at, `expected a feature name, found ${JSON.stringify(v)}`);
      return;
    }
    if (out.includes(v)) {
      r.report.warn(r.file, at, `feature '${v}' listed twice; kept once`);
      return;
    }
    out.push(v);
  });
  r.report.mapped(
    r.file,
    r.at('features'),
    `${section}.features`,
    'features',
    'one script per name under features/',
  );
  return out;
}

/** `10.0.0.5` → `10.0.0.5/24` (Proxmox wants CIDR); `dhcp`/`manual`/CIDR unchanged. */
export function withPrefix(r: Reader, path: string, ip: string): string {
  if (ip === 'dhcp' || ip === 'manual' || ip.includes('/')) return ip;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    r.report.warn(r.file, path, `address ${ip} has no prefix length; /24 assumed`);
    return `${ip}/24`;
  }
  return ip;
}

/** Legacy health checks were never run (test/fixtures/legacy/FIELDS.md): map them when they can run inside the guest. */
export function mapHealthCheck(r: Reader, guest: ImportedGuest, section: string): void {
  const hc = r.obj('health_check');
  if (!hc) return;
  const command = hc.str('command');
  const retries = hc.int('retries');
  const interval = hc.int('interval');
  const raw = r.value.health_check;
  if (!command) {
    r.report.warn(r.file, r.at('health_check'), 'health_check without a command');
    guest.fields.meta = { ...(guest.fields.meta as object), health_check: raw };
    return;
  }
  if (command.startsWith('/usr/local/phoenix_hypervisor/')) {
    // A path into the legacy install on the host: it does not exist inside the guest.
    r.report.meta(r.file, r.at('health_check'), `${section}.health_check`, 'names a legacy host-side script');
    r.report.warn(
      r.file,
      hc.at('command'),
      'health check command is a legacy host-side script; kept in meta (Phoenix runs health checks inside the guest)',
    );
    const meta = (guest.fields.meta as Record<string, unknown> | undefined) ?? {};
    guest.fields.meta = { ...meta, health_check: raw };
    addFieldComment(
      guest,
      'meta',
      'health_check runs a legacy host-side script: port it into the guest, then move it to healthCheck',
    );
    return;
  }
  guest.fields.healthCheck = { command, retries: retries ?? 3, intervalS: interval ?? 5 };
  r.report.mapped(
    r.file,
    r.at('health_check'),
    `${section}.health_check`,
    'healthCheck',
    'interval → intervalS',
  );
  addFieldComment(guest, 'healthCheck', 'the legacy tool never ran this check; Phoenix will');
  for (const k of hc.rest())
    r.report.dropped(r.file, hc.at(k), `${section}.health_check.${k}`, 'not a health check option');
}
