// The target graph (graphology): nodes are targets, an edge dep → target means "target needs
// dep". Cycles are errors that name their members; selection narrows a build to some guests'
// targets plus everything upstream of them.
import { DirectedGraph } from 'graphology';
import { hasCycle, topologicalSort } from 'graphology-dag';
import type { Result } from '../dsl/diagnostics.js';

export interface GraphNode {
  id: string;
  guest: number;
  deps: string[];
}

export type TargetGraph = DirectedGraph<{ guest: number }>;

export type GraphResult = Result<TargetGraph, string>;

// The topological order, computed once with the graph (Kahn's pass, which also finds cycles).
const orders = new WeakMap<TargetGraph, string[]>();

export function buildGraph(nodes: GraphNode[]): GraphResult {
  const g: TargetGraph = new DirectedGraph();
  for (const n of nodes) g.addNode(n.id, { guest: n.guest });
  for (const n of nodes) {
    for (const d of n.deps) {
      if (!g.hasNode(d)) return { ok: false, error: `${n.id} needs ${d}, which is not declared` };
      // A repeated dependency is one edge (mergeEdge adds it once, without a second lookup).
      g.mergeEdge(d, n.id);
    }
  }
  // One pass: graphology-dag's topological sort throws on a cycle (no separate hasCycle walk).
  let order: string[];
  try {
    order = topologicalSort(g);
  } catch {
    return { ok: false, error: `dependency cycle: ${findCycle(g).join(' → ')}` };
  }
  orders.set(g, order);
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

/** Dependencies first; computed by buildGraph for the graphs it made (callers may change the copy). */
export function topoOrder(g: TargetGraph): string[] {
  const known = orders.get(g);
  if (known && known.length === g.order) return [...known];
  if (hasCycle(g)) throw new Error(`dependency cycle: ${findCycle(g).join(' → ')}`);
  return topologicalSort(g);
}
