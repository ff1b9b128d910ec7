// The target graph: nodes are targets, an edge dep → target means "target needs dep". Cycles are
// errors that name their members; selection narrows a build to some guests' targets plus
// everything upstream of them. Plain adjacency arrays and one Kahn pass (order and cycle check
// at once): the engine asks nothing more of a graph, and a 1000-guest fleet has ~9000 targets,
// where a general graph library's per-edge bookkeeping showed in every no-op's profile.

export interface GraphNode {
  id: string;
  guest: number;
  deps: string[];
}

export class TargetGraph {
  private readonly index = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly outs: number[][] = [];
  private readonly ins: number[][] = [];
  /** Ids in dependency order (Kahn: ready nodes first-in first-out, in declaration order). */
  readonly order: string[] = [];

  /** @internal built by buildGraph */
  add(id: string): void {
    this.index.set(id, this.ids.length);
    this.ids.push(id);
    this.outs.push([]);
    this.ins.push([]);
  }

  /** @internal built by buildGraph; false when the edge was already there */
  link(from: string, to: string): boolean {
    const f = this.index.get(from)!;
    const t = this.index.get(to)!;
    if (this.ins[t]!.includes(f)) return false;
    this.outs[f]!.push(t);
    this.ins[t]!.push(f);
    return true;
  }

  hasNode(id: string): boolean {
    return this.index.has(id);
  }

  nodes(): string[] {
    return [...this.ids];
  }

  /** What `id` needs. */
  inNeighbors(id: string): string[] {
    return (this.ins[this.index.get(id) ?? -1] ?? []).map((i) => this.ids[i]!);
  }

  /** What needs `id`. */
  outNeighbors(id: string): string[] {
    return (this.outs[this.index.get(id) ?? -1] ?? []).map((i) => this.ids[i]!);
  }

  /** @internal Kahn's algorithm; false when some nodes are on or behind a cycle. */
  sort(): boolean {
    const indegree = this.ins.map((x) => x.length);
    const queue: number[] = [];
    for (let i = 0; i < indegree.length; i++) if (indegree[i] === 0) queue.push(i);
    for (let head = 0; head < queue.length; head++) {
      const n = queue[head]!;
      this.order.push(this.ids[n]!);
      for (const m of this.outs[n]!) if (--indegree[m]! === 0) queue.push(m);
    }
    return this.order.length === this.ids.length;
  }
}

export type GraphResult = { ok: true; value: TargetGraph } | { ok: false; error: string };

export function buildGraph(nodes: GraphNode[]): GraphResult {
  const g = new TargetGraph();
  for (const n of nodes) g.add(n.id);
  for (const n of nodes) {
    for (const d of n.deps) {
      if (!g.hasNode(d)) return { ok: false, error: `${n.id} needs ${d}, which is not declared` };
      g.link(d, n.id);
    }
  }
  if (!g.sort()) {
    const cycle = findCycle(g);
    return { ok: false, error: `dependency cycle: ${cycle.join(' → ')}` };
  }
  return { ok: true, value: g };
}

/** One cycle's members, first member repeated at the end (iterative DFS, white/grey/black). */
export function findCycle(g: TargetGraph): string[] {
  const color = new Map<string, 0 | 1 | 2>();
  const parent = new Map<string, string>();
  for (const start of g.nodes()) {
    if (color.get(start)) continue;
    const stack: Array<{ node: string; next: string[] }> = [{ node: start, next: g.outNeighbors(start) }];
    color.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const n = top.next.shift();
      if (n === undefined) {
        color.set(top.node, 2);
        stack.pop();
        continue;
      }
      const c = color.get(n) ?? 0;
      if (c === 1) {
        const cycle = [n];
        for (let cur = top.node; cur !== n; cur = parent.get(cur)!) cycle.push(cur);
        cycle.push(n);
        return cycle.reverse();
      }
      if (c === 0) {
        color.set(n, 1);
        parent.set(n, top.node);
        stack.push({ node: n, next: g.outNeighbors(n) });
      }
    }
  }
  return [];
}

/** The selected nodes and all their ancestors (what they need), in no particular order. */
export function withAncestors(g: TargetGraph, selected: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const todo = [...selected];
  while (todo.length) {
    const n = todo.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...g.inNeighbors(n));
  }
  return out;
}

/** The selected nodes and everything downstream of them. */
export function withDescendants(g: TargetGraph, selected: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const todo = [...selected];
  while (todo.length) {
    const n = todo.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...g.outNeighbors(n));
  }
  return out;
}

export function topoOrder(g: TargetGraph): string[] {
  return [...g.order];
}
