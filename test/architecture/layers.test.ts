// The folders of src/ flow one way (see ARCHITECTURE.md): a module imports only from folders
// below its own, and no file reaches itself through its imports. Every relative import in src/ is
// read with a regex (static, `export … from`, `import type`, dynamic `import('…')`); the known
// upward imports are listed below with their reason, so a new one fails here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

/**
 * What each folder may import, following the data flow of a build: dsl ← graph ← runner ←
 * targets; pve (host access, Proxmox formats) below runner and targets; sim beside pve (only
 * Proxmox's formats, shared so the two cannot disagree); pipeline wires targets into the runner
 * for every verb; adopt and cli on top (cli wires everything). `migrations` is the legacy importer
 * outside src/; `package.json` gives the CLI its version.
 */
const MAY_IMPORT: Record<string, string[]> = {
  dsl: [],
  graph: ['dsl'],
  pve: ['dsl'],
  sim: ['pve/format'],
  runner: ['dsl', 'graph', 'pve'],
  targets: ['dsl', 'graph', 'pve', 'runner'],
  pipeline: ['dsl', 'graph', 'pve', 'runner', 'targets', 'sim'],
  adopt: ['dsl', 'graph', 'pve', 'runner', 'targets', 'pipeline', 'migrations'],
  cli: ['dsl', 'graph', 'pve', 'sim', 'runner', 'targets', 'pipeline', 'adopt', 'migrations', 'package.json'],
};

/**
 * Upward imports of today, each with why it is still there. Remove an entry when it is fixed
 * (the test fails on a paid one). Empty: keep it so.
 */
const KNOWN_DEBT: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;

/** Relative imports of each file under src/, as paths from the repository root. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(IMPORT_RE)) {
      const target = path.resolve(path.dirname(file), m[1]!).replace(/\.js$/, '.ts');
      deps.add(path.relative(ROOT, target));
    }
    graph.set(path.relative(ROOT, file), [...deps]);
  }
  return graph;
}

/** `src/pve/format/conf.ts` → `pve/format`; `migrations/legacy/ir.ts` → `migrations`. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0]!;
  return parts.length > 3 ? `${parts[1]}/${parts[2]}` : parts[1]!;
}

function allowed(from: string, to: string): boolean {
  const a = folderOf(from).split('/')[0]!;
  const b = folderOf(to);
  if (a === b.split('/')[0]) return true;
  const may = MAY_IMPORT[a];
  if (!may) return false;
  return may.some((f) => b === f || b.startsWith(`${f}/`));
}

/** The strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('the layering of src/', () => {
  const graph = importGraph();
  const edges = [...graph].flatMap(([from, deps]) => deps.map((to) => ({ from, to })));

  it('reads the imports of every folder of src/', () => {
    const folders = new Set([...graph.keys()].map((f) => folderOf(f).split('/')[0]));
    expect([...folders].sort()).toEqual(Object.keys(MAY_IMPORT).sort());
    expect(edges.length).toBeGreaterThan(100);
  });

  it('has no import cycle between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports only downward, apart from the listed debt', () => {
    const upward = edges.filter((e) => !allowed(e.from, e.to)).map((e) => `${e.from} -> ${e.to}`);
    expect(upward.filter((e) => !(e in KNOWN_DEBT))).toEqual([]);
  });

  it('lists no debt that is already paid', () => {
    const present = new Set(edges.map((e) => `${e.from} -> ${e.to}`));
    expect(
      Object.keys(KNOWN_DEBT).filter(
        (e) => !present.has(e) || allowed(...(e.split(' -> ') as [string, string])),
      ),
    ).toEqual([]);
  });

  it('flags an upward import and a cycle (the checks themselves can fail)', () => {
    expect(allowed('src/runner/plan.ts', 'src/targets/registry.ts')).toBe(false);
    expect(allowed('src/sim/pct.ts', 'src/pve/host.ts')).toBe(false);
    expect(allowed('src/sim/pct.ts', 'src/pve/format/conf.ts')).toBe(true);
    expect(allowed('src/targets/exists.ts', 'src/runner/types.ts')).toBe(true);
    const loop = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(loop)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});
