import { describe, expect, it } from 'vitest';
import { buildGraph, topoOrder, withAncestors } from '../../src/graph/graph.js';
import { guestMermaid } from '../../src/graph/mermaid.js';

describe('target graph', () => {
  it('reports a cycle with its members', () => {
    const r = buildGraph([
      { id: 'n1', guest: 1, deps: ['n3'] },
      { id: 'n2', guest: 1, deps: ['n1'] },
      { id: 'n3', guest: 1, deps: ['n2'] },
      { id: 'n4', guest: 2, deps: [] },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatch(/^dependency cycle: /);
    for (const m of ['n1', 'n2', 'n3']) expect(r.error).toContain(m);
    expect(r.error).not.toContain('n4');
  });

  it('names an undeclared dependency', () => {
    const r = buildGraph([{ id: 'a', guest: 1, deps: ['zz'] }]);
    expect(r).toEqual({ ok: false, error: 'a needs zz, which is not declared' });
  });

  it('selects a node and its ancestors, not its siblings', () => {
    const r = buildGraph([
      { id: 't', guest: 900, deps: [] },
      { id: 'x', guest: 103, deps: ['t'] },
      { id: 'y', guest: 104, deps: ['t'] },
    ]);
    if (!r.ok) throw new Error(r.error);
    expect([...withAncestors(r.value, ['x'])].sort()).toEqual(['t', 'x']);
    expect(topoOrder(r.value)[0]).toBe('t');
  });

  it('draws the clone edge in mermaid', () => {
    const text = guestMermaid([
      { vmid: 900, name: 'tpl', kind: 'lxc', template: true, dependsOn: [], stale: false, missing: false },
      {
        vmid: 103,
        name: 'web',
        kind: 'lxc',
        template: false,
        cloneFrom: 900,
        dependsOn: [],
        stale: true,
        missing: false,
      },
    ]);
    expect(text).toContain('g900 -->|clone| g103');
    expect(text).toContain('class g103 stale');
  });
});
