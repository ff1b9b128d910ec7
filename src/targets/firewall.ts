// The guest firewall (`/etc/pve/firewall/<vmid>.fw`), observed and diffed field by field: each
// option and each rule (by position: order decides in a firewall) shows as its own drift with
// the host's and the declared value, so a hand edit reads `firewall rule 1: IN ACCEPT -p tcp
// -dport 8443 → IN ACCEPT -p tcp -dport 443`. The declaration is the whole file: options and
// rules the host has beyond it are drift too (the step rewrites the file from the declaration).
import type { FirewallDecl } from '../dsl/model.js';
import { formatFirewallRule, type GuestFirewall, parseFirewall } from '../pve/format/index.js';
import type { Drift } from '../runner/types.js';

/** Drifts between a host file (`undefined` = no file) and the declared firewall. */
export function firewallDrifts(hostText: string | undefined, want: GuestFirewall): Drift[] {
  if (hostText === undefined) {
    return [{ field: 'firewall', host: '(no file)', declared: summary(want) }];
  }
  const have = parseFirewall(hostText);
  const drifts: Drift[] = [];
  const keys = [...new Set([...Object.keys(want.options), ...Object.keys(have.options)])].sort();
  for (const k of keys) {
    if (have.options[k] !== want.options[k])
      drifts.push({ field: `firewall.${k}`, host: have.options[k], declared: want.options[k] });
  }
  const n = Math.max(have.rules.length, want.rules.length);
  for (let i = 0; i < n; i++) {
    const h = have.rules[i] ? formatFirewallRule(have.rules[i]!) : undefined;
    const w = want.rules[i] ? formatFirewallRule(want.rules[i]!) : undefined;
    if (h !== w) drifts.push({ field: `firewall rule ${i}`, host: h, declared: w });
  }
  const otherHave = have.other.map((s) => s.split('\n')[0]!.trim()).join(', ');
  const otherWant = want.other.map((s) => s.split('\n')[0]!.trim()).join(', ');
  if (otherHave !== otherWant)
    drifts.push({
      field: 'firewall sections',
      host: otherHave || undefined,
      declared: otherWant || undefined,
    });
  return drifts;
}

function summary(fw: GuestFirewall): string {
  const n = fw.rules.length;
  return `${fw.options.enable === '0' ? 'disabled, ' : ''}${n} rule${n === 1 ? '' : 's'}`;
}

/** True when a drift belongs to the firewall (for steps that pick their work from drifts). */
export const isFirewallDrift = (d: Drift): boolean =>
  d.field === 'firewall' || d.field.startsWith('firewall.') || d.field.startsWith('firewall ');

/** The declared firewall in codec form (same mapping as the config step writes). */
export function wantFirewall(fw: FirewallDecl): GuestFirewall {
  const options: Record<string, string> = { enable: fw.enabled ? '1' : '0' };
  if (fw.policyIn) options.policy_in = fw.policyIn;
  if (fw.policyOut) options.policy_out = fw.policyOut;
  return {
    options,
    other: [],
    rules: fw.rules.map((r) => ({
      type: r.direction,
      action: r.action,
      enable: r.enabled ?? true,
      ...(r.iface ? { iface: r.iface } : {}),
      ...(r.source ? { source: r.source } : {}),
      ...(r.dest ? { dest: r.dest } : {}),
      ...(r.proto ? { proto: r.proto } : {}),
      ...(r.dport ? { dport: r.dport } : {}),
      ...(r.sport ? { sport: r.sport } : {}),
      ...(r.comment ? { comment: r.comment } : {}),
    })),
  };
}
