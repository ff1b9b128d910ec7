// Guest firewall files `/etc/pve/firewall/<vmid>.fw` (pve-firewall `parse_vmfw_config` /
// `save_vmfw_config`): `[OPTIONS]` with `key: value` lines, `[RULES]` with lines like
// `IN ACCEPT -source 10.0.0.0/24 -p tcp -dport 22 -log nolog # comment`; a disabled rule starts with `|`.
// Other sections (`[ALIASES]`, `[IPSET name]`) are kept verbatim.

export interface FwRule {
  type: 'in' | 'out' | 'group';
  /** `ACCEPT`/`DROP`/`REJECT`, or a security group name for `group` rules. */
  action: string;
  /** Macro name when written as `Macro(ACTION)`, e.g. `SSH(ACCEPT)`. */
  macro?: string;
  enable: boolean;
  iface?: string;
  source?: string;
  dest?: string;
  proto?: string;
  icmpType?: string;
  dport?: string;
  sport?: string;
  log?: string;
  comment?: string;
}

export interface GuestFirewall {
  options: Record<string, string>;
  rules: FwRule[];
  /** Sections other than OPTIONS and RULES, verbatim (header line included). */
  other: string[];
}

const FLAGS: Array<[string, keyof FwRule]> = [
  ['-i', 'iface'],
  ['-source', 'source'],
  ['-dest', 'dest'],
  ['-p', 'proto'],
  ['-icmp-type', 'icmpType'],
  ['-dport', 'dport'],
  ['-sport', 'sport'],
  ['-log', 'log'],
];

export function parseFirewallRule(line: string): FwRule | undefined {
  let body = line.trim();
  let comment: string | undefined;
  const hash = body.indexOf('#');
  if (hash >= 0) {
    comment = body.slice(hash + 1).trim();
    body = body.slice(0, hash).trim();
  }
  let enable = true;
  if (body.startsWith('|')) {
    enable = false;
    body = body.slice(1).trim();
  }
  const words = body.split(/\s+/);
  const type = words.shift()?.toLowerCase();
  if (type !== 'in' && type !== 'out' && type !== 'group') return undefined;
  const act = words.shift();
  if (!act) return undefined;
  const rule: FwRule = { type, action: act, enable };
  const macro = /^(\w+)\((ACCEPT|DROP|REJECT)\)$/.exec(act);
  if (macro) {
    rule.macro = macro[1]!;
    rule.action = macro[2]!;
  }
  for (let i = 0; i < words.length; i += 2) {
    const flag = FLAGS.find(([f]) => f === words[i]);
    const value = words[i + 1];
    if (!flag || value === undefined) return undefined;
    (rule as unknown as Record<string, string>)[flag[1]] = value;
  }
  if (comment) rule.comment = comment;
  return rule;
}

export function formatFirewallRule(rule: FwRule): string {
  let raw = rule.enable ? '' : '|';
  raw += rule.type.toUpperCase();
  raw += rule.macro ? ` ${rule.macro}(${rule.action})` : ` ${rule.action}`;
  if ((rule.type === 'in' || rule.type === 'out') && rule.iface) raw += ` -i ${rule.iface}`;
  if (rule.type !== 'group') {
    if (rule.source) raw += ` -source ${rule.source}`;
    if (rule.dest) raw += ` -dest ${rule.dest}`;
    if (rule.proto) raw += ` -p ${rule.proto}`;
    if (rule.icmpType) raw += ` -icmp-type ${rule.icmpType}`;
    if (rule.dport) raw += ` -dport ${rule.dport}`;
    if (rule.sport) raw += ` -sport ${rule.sport}`;
    if (rule.log) raw += ` -log ${rule.log}`;
  }
  if (rule.comment && !/^\s*$/.test(rule.comment)) raw += ` # ${rule.comment}`;
  return raw;
}

export function parseFirewall(text: string): GuestFirewall {
  const fw: GuestFirewall = { options: {}, rules: [], other: [] };
  let section = '';
  let otherBuf: string[] | undefined;
  const flush = (): void => {
    if (otherBuf) fw.other.push(`${otherBuf.join('\n').replace(/\n+$/, '')}\n`);
    otherBuf = undefined;
  };
  for (const line of text.split('\n')) {
    const head = /^\[([^\]]+)\]\s*$/.exec(line.trim());
    if (head) {
      flush();
      section = head[1]!.toUpperCase();
      if (section !== 'OPTIONS' && section !== 'RULES') otherBuf = [line.trim()];
      continue;
    }
    if (otherBuf) {
      otherBuf.push(line);
      continue;
    }
    if (/^\s*$/.test(line) || /^\s*#/.test(line)) continue;
    if (section === 'OPTIONS') {
      const kv = /^\s*([a-z_]+)\s*:\s*(.*?)\s*$/.exec(line);
      if (kv) fw.options[kv[1]!] = kv[2]!;
    } else if (section === 'RULES') {
      const rule = parseFirewallRule(line);
      if (rule) fw.rules.push(rule);
    }
  }
  flush();
  return fw;
}

export function serializeFirewall(fw: GuestFirewall): string {
  let raw = '';
  const keys = Object.keys(fw.options).sort();
  if (keys.length > 0) raw += `[OPTIONS]\n\n${keys.map((k) => `${k}: ${fw.options[k]}\n`).join('')}\n`;
  for (const other of fw.other) raw += `${other}\n`;
  if (fw.rules.length > 0)
    raw += `[RULES]\n\n${fw.rules.map((r) => `${formatFirewallRule(r)}\n`).join('')}\n`;
  return raw;
}
