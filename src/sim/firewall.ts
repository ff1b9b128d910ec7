// The guest firewall API (`/nodes/{node}/{lxc,qemu}/{vmid}/firewall/...`) as pve-firewall's
// API2 serves it, over the same `/etc/pve/firewall/<vmid>.fw` file the CLI tools see.
// Rules: pve-firewall src/PVE/API2/Firewall/Rules.pm (get :163-206, get one :208-249, create
// :251-317, update :319-420, delete :422-473; VMRules/CTRules :650-740 use
// `lock_vmfw_conf`/`load_vmfw_conf`/`save_vmfw_conf`). Options: src/PVE/API2/Firewall/VM.pm:66-160.
// Neither checks that the guest exists.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type FwRule, type GuestFirewall, parseFirewall, serializeFirewall } from '../pve/format/index.js';
import type { Params } from './args.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie, SimGap } from './errors.js';
import { readText, writeFileAtomic } from './io.js';
import { withFileLock } from './lock.js';

/** `$vm_option_properties` keys (pve-firewall src/PVE/Firewall.pm:1282-1380). */
const VM_OPTIONS = [
  'enable',
  'dhcp',
  'ipfilter',
  'log_level_in',
  'log_level_out',
  'macfilter',
  'ndp',
  'policy_in',
  'policy_out',
  'radv',
];

/** `$rule_properties` as API fields ↔ the file model. */
const FIELDS: Array<[string, keyof FwRule]> = [
  ['type', 'type'],
  ['action', 'action'],
  ['macro', 'macro'],
  ['iface', 'iface'],
  ['source', 'source'],
  ['dest', 'dest'],
  ['proto', 'proto'],
  ['dport', 'dport'],
  ['sport', 'sport'],
  ['log', 'log'],
  ['icmp-type', 'icmpType'],
  ['comment', 'comment'],
];

function fwPath(ctx: Ctx, vmid: string): string {
  return ctx.host.pvePath('firewall', `${vmid}.fw`);
}

function load(ctx: Ctx, vmid: string): GuestFirewall {
  return parseFirewall(readText(fwPath(ctx, vmid)) ?? '');
}

/** `save_vmfw_conf`: an empty config removes the file (src/PVE/Firewall.pm:3810-3836). */
function save(ctx: Ctx, vmid: string, fw: GuestFirewall): void {
  const raw = serializeFirewall(fw);
  if (raw) writeFileAtomic(fwPath(ctx, vmid), raw);
  else rmSync(fwPath(ctx, vmid), { force: true });
}

/** `cfs_lock_firewall("vm-$vmid", 10, ...)` (src/PVE/Firewall/Helpers.pm:25-35). */
function locked<T>(ctx: Ctx, vmid: string, fn: () => T): T {
  const shown = `/etc/pve/priv/lock/firewall-vm-${vmid}`;
  return withFileLock(
    ctx.host.io,
    ctx.host.hostPath(`/run/lock/pve-sim/firewall-vm-${vmid}.lock`),
    shown,
    10,
    false,
    fn,
  );
}

function apiRule(rule: FwRule): Record<string, unknown> {
  const o: Record<string, unknown> = { enable: rule.enable ? 1 : 0 };
  for (const [api, key] of FIELDS) if (rule[key] !== undefined) o[api] = rule[key];
  return o;
}

/** `copy_list_with_digest` (src/PVE/Firewall.pm:1253-1280). */
function listDigest(rules: FwRule[]): string {
  const sha = createHash('sha1');
  for (const r of rules) {
    const o = apiRule(r);
    for (const k of Object.keys(o).sort()) sha.update(`${k}:${String(o[k])}\n`);
  }
  return sha.digest('hex');
}

/** `copy_opject_with_digest` (src/PVE/Firewall.pm:1233-1251). */
function optionsDigest(options: Record<string, string>): string {
  const sha = createHash('sha1');
  for (const k of Object.keys(options).sort()) sha.update(`${k}:${options[k]}\n`);
  return sha.digest('hex');
}

function assertDigest(given: unknown, digest: string): void {
  if (typeof given === 'string' && given !== digest)
    throw new PveDie('detected modified configuration - file changed by other user? Try again.');
}

/** `copy_rule_data`: '' or '-' deletes a field (src/PVE/Firewall.pm:1939-1953). */
function copyRuleData(rule: FwRule, p: Params): void {
  for (const [api, key] of FIELDS) {
    const v = p[api];
    if (typeof v !== 'string') continue;
    if (v === '' || v === '-') delete (rule as unknown as Record<string, unknown>)[key];
    else (rule as unknown as Record<string, unknown>)[key] = api === 'type' ? v.toLowerCase() : v;
  }
  if (typeof p.enable === 'string') rule.enable = p.enable !== '0';
}

/** The checks of `verify_rule` a guest rule can fail on (src/PVE/Firewall.pm:1740-1880). */
function verifyRule(rule: FwRule): void {
  const err = (k: string, m: string): never => {
    throw new ParamError({ [k]: m });
  };
  if (rule.type === 'in' || rule.type === 'out') {
    if (!rule.macro && !['ACCEPT', 'DROP', 'REJECT'].includes(rule.action))
      err('action', `unknown action '${rule.action}'`);
  } else if (rule.type !== 'group') err('type', `unknown rule type '${rule.type}'`);
  if (rule.iface && !/^net\d+$/.test(rule.iface))
    err('iface', "value does not match the regex pattern 'net\\d+'");
  if (rule.macro) throw new SimGap(`firewall macro '${rule.macro}' is not modelled`);
  if (rule.dport && !rule.proto) err('proto', "missing property - 'dport' requires this property");
  if (rule.sport && !rule.proto) err('proto', "missing property - 'sport' requires this property");
  if (
    (rule.dport || rule.sport) &&
    rule.proto &&
    !['tcp', 'udp', 'udplite', 'sctp', 'dccp'].includes(rule.proto)
  )
    err(rule.dport ? 'dport' : 'sport', `protocol '${rule.proto}' does not support ports`);
}

function rulePos(p: Params, rules: FwRule[]): number {
  const pos = Number(p.pos);
  if (pos >= rules.length) throw new PveDie(`no rule at position ${pos}`);
  return pos;
}

/** Serves one firewall API call; returns the data to print (undefined for `null` returns). */
export function firewallApi(ctx: Ctx, method: string, template: string, p: Params): unknown {
  const vmid = String(p.vmid);
  const what = template.replace(/^.*\/firewall/, '');
  switch (`${method} ${what}`) {
    case 'GET ':
      return ['rules', 'aliases', 'ipset', 'refs', 'options'].map((name) => ({ name }));
    case 'GET /rules': {
      const rules = load(ctx, vmid).rules;
      const digest = listDigest(rules);
      return rules.map((r, pos) => ({ ...apiRule(r), pos, digest }));
    }
    case 'GET /rules/{pos}': {
      const rules = load(ctx, vmid).rules;
      const pos = rulePos(p, rules);
      return { ...apiRule(rules[pos]!), pos, digest: listDigest(rules) };
    }
    case 'POST /rules':
      return locked(ctx, vmid, () => {
        const fw = load(ctx, vmid);
        const rule: FwRule = { type: 'in', action: '', enable: false };
        copyRuleData(rule, p);
        verifyRule(rule);
        // A new rule is disabled unless `enable` is given, and always goes first.
        if (typeof p.enable !== 'string') rule.enable = false;
        fw.rules.unshift(rule);
        save(ctx, vmid, fw);
        return undefined;
      });
    case 'PUT /rules/{pos}':
      return locked(ctx, vmid, () => {
        const fw = load(ctx, vmid);
        assertDigest(p.digest, listDigest(fw.rules));
        const pos = rulePos(p, fw.rules);
        const rule = fw.rules[pos]!;
        const moveto = typeof p.moveto === 'string' ? Number(p.moveto) : undefined;
        if (moveto !== undefined && moveto !== pos) {
          const next: FwRule[] = [];
          fw.rules.forEach((r, i) => {
            if (i === pos) return;
            if (i === moveto) next.push(rule);
            next.push(r);
          });
          if (moveto >= fw.rules.length) next.push(rule);
          fw.rules = next;
        } else {
          copyRuleData(rule, p);
          for (const d of String(p.delete ?? '')
            .split(/[,;\s]+/)
            .filter(Boolean)) {
            const f = FIELDS.find(([api]) => api === d);
            if (d === 'enable') rule.enable = true;
            else if (f && d !== 'type' && d !== 'action')
              delete (rule as unknown as Record<string, unknown>)[f[1]];
          }
          verifyRule(rule);
        }
        save(ctx, vmid, fw);
        return undefined;
      });
    case 'DELETE /rules/{pos}':
      return locked(ctx, vmid, () => {
        const fw = load(ctx, vmid);
        assertDigest(p.digest, listDigest(fw.rules));
        fw.rules.splice(rulePos(p, fw.rules), 1);
        save(ctx, vmid, fw);
        return undefined;
      });
    case 'GET /options': {
      const options = load(ctx, vmid).options;
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(options)) o[k] = /^\d+$/.test(v) ? Number(v) : v;
      return { ...o, digest: optionsDigest(options) };
    }
    case 'PUT /options':
      return locked(ctx, vmid, () => {
        const fw = load(ctx, vmid);
        assertDigest(p.digest, optionsDigest(fw.options));
        for (const d of String(p.delete ?? '')
          .split(/[,;\s]+/)
          .filter(Boolean)) {
          if (!VM_OPTIONS.includes(d)) throw new ParamError({ delete: `no such option '${d}'` });
          delete fw.options[d];
        }
        for (const k of VM_OPTIONS) if (typeof p[k] === 'string') fw.options[k] = String(p[k]);
        save(ctx, vmid, fw);
        return undefined;
      });
    default:
      throw new SimGap(`${method} ${template} is not simulated`);
  }
}
