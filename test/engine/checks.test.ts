import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/dsl/load.js';
import { planFor, prepareEngine } from '../../src/pipeline/engine.js';
import { emptyHostState } from '../../src/pve/state.js';
import { planChecks } from '../../src/runner/checks.js';
import { ROOT } from './helpers.js';

describe('planning checks', () => {
  it('name what the host lacks before anything changes', async () => {
    const loaded = await loadConfig(path.join(ROOT, 'test/fixtures/engine/small/phoenix.config.ts'));
    if (!loaded.ok) throw new Error('fixture does not load');
    const engine = prepareEngine(loaded.value);
    if (!engine.ok) throw new Error(engine.error);
    const state = emptyHostState();
    state.nodes = ['pve'];
    state.storages.set(
      'pve',
      new Map([
        ['local', { id: 'local', type: 'dir', content: ['iso'], enabled: true, active: true }],
        ['local-lvm', { id: 'local-lvm', type: 'lvmthin', content: ['images'], enabled: true, active: true }],
      ]),
    );
    state.volumes.set('pve', new Set());
    const verdicts = planFor(engine.value, state, engine.value.order, new Set());
    const problems = planChecks(engine.value.config, state, verdicts, false);
    expect(problems).toContain(
      "guest 900: storage 'local' (OS template) does not allow content 'vztmpl' (it allows: iso)",
    );
    expect(problems).toContain(
      "guest 900: storage 'local-lvm' (root disk) does not allow content 'rootdir' (it allows: images)",
    );

    state.nodes = ['other'];
    const p2 = planChecks(engine.value.config, state, verdicts, false);
    expect(p2).toContain("guest 900: node 'pve' does not exist (host has: other)");
  });
});
