// `phoenix graph` output: mermaid flowcharts at guest level (clone and service edges) or target
// level (one subgraph per guest), stale nodes styled; and the same as JSON for machines.

export interface GuestNodeInfo {
  vmid: number;
  name: string;
  kind: 'lxc' | 'vm';
  template: boolean;
  cloneFrom?: number;
  dependsOn: number[];
  stale: boolean;
  missing: boolean;
  /** Cluster node, given when the config declares several: guests are drawn inside their node's subgraph. */
  node?: string;
}

export interface TargetNodeInfo {
  id: string;
  guest: number;
  name: string;
  deps: string[];
  stale: boolean;
}

const esc = (s: string) => s.replace(/"/g, '#quot;');
const gid = (vmid: number) => `g${vmid}`;
const tid = (id: string) => `t_${id.replace(/[^A-Za-z0-9]/g, '_')}`;

const STYLES = [
  'classDef stale fill:#fde2c8,stroke:#d9822b,stroke-width:2px',
  'classDef missing fill:#f8d0d0,stroke:#c23030,stroke-width:2px,stroke-dasharray:4 2',
  'classDef fresh fill:#d8f0d8,stroke:#3a8a3a',
];

/** Draws each guest with `draw` (indented), inside a subgraph per cluster node when guests name one. */
function perNode(
  guests: GuestNodeInfo[],
  lines: string[],
  draw: (g: GuestNodeInfo, indent: string) => void,
): void {
  const nodes = [...new Set(guests.map((g) => g.node).filter((n) => n !== undefined))];
  if (!nodes.length) {
    for (const g of guests) draw(g, '  ');
    return;
  }
  for (const node of nodes) {
    lines.push(`  subgraph node_${node.replace(/[^A-Za-z0-9]/g, '_')}["${esc(`node ${node}`)}"]`);
    for (const g of guests.filter((x) => x.node === node)) draw(g, '    ');
    lines.push('  end');
  }
}

export function guestMermaid(guests: GuestNodeInfo[], styled = true): string {
  const lines = ['flowchart LR'];
  perNode(guests, lines, (g, indent) => {
    const label = `${g.vmid} ${g.name}<br/>${g.kind}${g.template ? ' template' : ''}`;
    lines.push(`${indent}${gid(g.vmid)}${g.template ? `[["${esc(label)}"]]` : `["${esc(label)}"]`}`);
  });
  const known = new Set(guests.map((g) => g.vmid));
  for (const g of guests) {
    if (g.cloneFrom !== undefined && known.has(g.cloneFrom))
      lines.push(`  ${gid(g.cloneFrom)} -->|clone| ${gid(g.vmid)}`);
    for (const d of g.dependsOn) if (known.has(d)) lines.push(`  ${gid(d)} -.->|dependsOn| ${gid(g.vmid)}`);
  }
  // Without the host's state nothing is known to be fresh: no styling at all.
  if (styled) {
    lines.push(...STYLES.map((s) => `  ${s}`));
    for (const g of guests)
      lines.push(`  class ${gid(g.vmid)} ${g.missing ? 'missing' : g.stale ? 'stale' : 'fresh'}`);
  }
  return `${lines.join('\n')}\n`;
}

export function targetMermaid(guests: GuestNodeInfo[], targets: TargetNodeInfo[], styled = true): string {
  const lines = ['flowchart TB'];
  perNode(guests, lines, (g, indent) => {
    lines.push(`${indent}subgraph ${gid(g.vmid)}["${esc(`${g.vmid} ${g.name}`)}"]`);
    for (const t of targets.filter((x) => x.guest === g.vmid))
      lines.push(`${indent}  ${tid(t.id)}["${esc(t.name)}"]`);
    lines.push(`${indent}end`);
  });
  for (const [d, t] of reducedEdges(targets)) lines.push(`  ${tid(d)} --> ${tid(t)}`);
  if (styled) {
    lines.push(...STYLES.map((s) => `  ${s}`));
    for (const t of targets) lines.push(`  class ${tid(t.id)} ${t.stale ? 'stale' : 'fresh'}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Edges without the ones another path already implies (transitive reduction), so a template's
 * "needs everything before it" does not drown the picture.
 */
export function reducedEdges(targets: TargetNodeInfo[]): Array<[string, string]> {
  const deps = new Map(targets.map((t) => [t.id, t.deps]));
  const reach = new Map<string, Set<string>>();
  const ancestors = (id: string): Set<string> => {
    let set = reach.get(id);
    if (set) return set;
    set = new Set();
    reach.set(id, set);
    for (const d of deps.get(id) ?? []) {
      set.add(d);
      for (const a of ancestors(d)) set.add(a);
    }
    return set;
  };
  const out: Array<[string, string]> = [];
  for (const t of targets) {
    for (const d of t.deps) {
      const implied = t.deps.some((other) => other !== d && ancestors(other).has(d));
      if (!implied) out.push([d, t.id]);
    }
  }
  return out;
}
