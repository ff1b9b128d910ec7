// `phoenix adopt` in parts: the edit of an existing config keeps the user's text, secrets become
// environment placeholders, a linked clone of an undeclared template becomes `cloneFromHost`
// (which the DSL and the plan check), and --dry-run changes nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { adopt } from '../../src/adopt/adopt.js';
import { addToConfig } from '../../src/adopt/write.js';
import { loadConfig } from '../../src/dsl/load.js';
import { Host } from '../../src/pve/host.js';
import { simRunner } from '../../src/pve/runner.js';
import { emptyHostState } from '../../src/pve/state.js';
import { hostSourceProblems } from '../../src/runner/checks.js';
import { ensureSimHost, main } from '../../src/sim/index.js';
import type { Out } from '../../src/sim/io.js';
import { project, tempDir } from '../engine/helpers.js';
import { ensureBuilt } from '../import/helpers.js';
import { writesSince } from './helpers.js';

beforeAll(() => ensureBuilt());

const USER_CONFIG = `// My fleet. Hand-written; keep my comments.
import { defineConfig, lxc } from 'phoenix-pve';

export default defineConfig({
    node: 'pve', // the only node
    storages: {
        'tank-ct': { type: 'zfspool', content: ['rootdir', 'images'] },
        local: { type: 'dir', content: ['vztmpl', 'import'] },
    },
    features: {},
    guests: {
        // the base template
        900: lxc({ name: 'base', template: true, ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', rootfs: { storage: 'tank-ct', sizeGb: 8 } }),

        // a guest after the ones adopt adds
        5000: lxc({ cloneFrom: 900, name: 'later' }), // trailing note
    },
});
`;

describe('adding to an existing config', () => {
  it('inserts in VMID order, indented like the neighbours, and leaves every other byte alone', async () => {
    const r = await addToConfig(USER_CONFIG, {
      guests: new Map([
        [101, "101: lxc({\n  name: 'web',\n  cloneFrom: 900,\n}),\n"],
        [
          6000,
          "// adopted\n6000: vm({ name: 'x', cloneFromHost: 9000, storage: 'tank-vm', bridge: 'vmbr0' }),\n",
        ],
      ]),
      storages: new Map([['tank-vm', "{ type: 'zfspool', content: ['images'] }"]]),
      helpers: ['lxc', 'vm'],
    });
    if (!r.ok) throw new Error(r.error);
    const text = r.value;
    expect(text).toContain(
      "        101: lxc({\n            name: 'web',\n            cloneFrom: 900,\n        }),\n\n        // the base template",
    );
    expect(text).toContain("        // adopted\n        6000: vm({ name: 'x'");
    expect(text).toContain("        'tank-vm': { type: 'zfspool', content: ['images'] },\n    },");
    expect(text).toContain("import { defineConfig, lxc, vm } from 'phoenix-pve';");
    // Remove what was added: the user's file remains, byte for byte.
    const added = [
      /^ {8}101: lxc\(\{\n[\s\S]*?\n {8}\}\),\n\n/m,
      /\n {8}\/\/ adopted\n {8}6000[^\n]*\n/,
      /^ {8}'tank-vm'[^\n]*\n/m,
    ];
    let back = text.replace(', vm }', ' }');
    for (const re of added) back = back.replace(re, '');
    expect(back).toBe(USER_CONFIG);
  });

  it('refuses a file without defineConfig guests, with a clear message', async () => {
    const r = await addToConfig('export const x = 1;\n', {
      guests: new Map([[1, '1: 1']]),
      storages: new Map(),
      helpers: [],
    });
    expect(r).toEqual({
      ok: false,
      error: 'cannot find `export default defineConfig({ ... })` in the config',
    });
  });
});

describe('cloneFromHost', () => {
  async function load(text: string) {
    const file = path.join(tempDir('phoenix-cfh-'), 'phoenix.config.ts');
    writeFileSync(file, text);
    return loadConfig(file, { checkFiles: false });
  }
  const head = `import { defineConfig, lxc } from 'phoenix-pve';
export default defineConfig({ node: 'pve', storages: { 'tank-ct': { type: 'zfspool', content: ['rootdir'] } }, features: {}, guests: {`;

  it('declares a clone of a guest only on the host; the plan refuses it when the host lacks it', async () => {
    const r = await load(
      `${head} 102: lxc({ name: 'c', cloneFromHost: 905, rootfs: { storage: 'tank-ct', sizeGb: 8 } }) } });\n`,
    );
    if (!r.ok) throw new Error(r.error.map((d) => `${d.path}: ${d.message}`).join('\n'));
    const g = r.value.guests.get(102)!;
    expect(g.cloneFrom).toBe(905);
    expect(g.cloneSourceOnHost).toBe(true);
    const stale = new Map([[102, new Set(['exists'])]]);
    expect(hostSourceProblems(r.value, emptyHostState(), stale)).toEqual([
      'guest 102: cloneFromHost 905 does not exist on the host (it is not declared, so Phoenix does not build it: create it first, or declare it and use cloneFrom)',
    ]);
    const state = emptyHostState();
    state.guests.set(905, {
      vmid: 905,
      kind: 'vm',
      node: 'pve',
      conf: { main: { props: {}, lxc: [] }, special: {}, snapshots: {} },
      current: { props: {}, lxc: [] },
      status: 'stopped',
      template: true,
    });
    expect(hostSourceProblems(r.value, state, stale)).toEqual([
      'guest 102: cloneFromHost 905 is a VM on the host; a container can only be cloned from a container',
    ]);
  });

  it('refuses a declared source and a second source, naming the place', async () => {
    const r = await load(
      `${head} 900: lxc({ name: 'b', ostemplate: 'x:vztmpl/a.tar.zst', rootfs: { storage: 'tank-ct', sizeGb: 8 } }), 101: lxc({ name: 'a', cloneFromHost: 900, rootfs: { storage: 'tank-ct', sizeGb: 8 } }), 102: lxc({ name: 'c', cloneFrom: 900, cloneFromHost: 905 }) } });\n`,
    );
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.error.map((d) => `${d.path}: ${d.message}`);
    expect(problems).toContain('guests.101.cloneFromHost: guest 900 is declared in this config');
    expect(problems).toContain('guests.102.cloneFromHost: cannot be combined with cloneFrom');
  });
});

describe('adopting from a simulated host', () => {
  it('writes secrets as environment placeholders, links to an undeclared template with cloneFromHost, and --dry-run changes nothing', async () => {
    const p = project('fleet');
    const root = p.simRoot;
    const saved = process.env.PHOENIX_SIM_ROOT;
    process.env.PHOENIX_SIM_ROOT = root;
    process.env.PHOENIX_SIM_SPEED = '0';
    const run = (cmd: string, ...args: string[]) => {
      const out: string[] = [];
      const code = main(cmd, args, {
        out: (s: string) => out.push(s),
        err: (s: string) => out.push(s),
      } as Out);
      if (code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${out.join('')}`);
    };
    try {
      ensureSimHost(
        root,
        {
          storages: [
            { id: 'local', type: 'dir', content: ['vztmpl', 'import'], path: '/var/lib/vz' },
            { id: 'tank-vm', type: 'zfspool', content: ['images'], pool: 'tank/vm' },
          ],
          templates: ['local:import/noble-server-cloudimg-amd64.qcow2'],
        },
        false,
      );
      run(
        'qm',
        'create',
        '7000',
        '--name',
        'cloud',
        '--memory',
        '2048',
        '--net0',
        'virtio,bridge=vmbr0',
        '--scsi0',
        'tank-vm:0,import-from=local:import/noble-server-cloudimg-amd64.qcow2',
        '--ide2',
        'tank-vm:cloudinit',
        '--agent',
        '1',
      );
      run('qm', 'template', '7000');
      run('qm', 'clone', '7000', '7001', '--name', 'app');
      run(
        'qm',
        'set',
        '7001',
        '--ciuser',
        'ops',
        '--cipassword',
        'hunter2',
        '--ipconfig0',
        'ip=10.0.0.5/24,gw=10.0.0.1',
      );
    } finally {
      process.env.PHOENIX_SIM_ROOT = saved;
      if (saved === undefined) delete process.env.PHOENIX_SIM_ROOT;
    }
    const file = path.join(p.dir, 'phoenix.config.ts');
    const before = readFileSync(file, 'utf8');
    const host = () => new Host(simRunner(root));
    const calls = p.calls().length;

    const dry = await adopt({ host: host(), configFile: file, ids: [7001], dryRun: true });
    if (!dry.ok) throw new Error(dry.error);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(writesSince(p, calls)).toEqual([]);
    expect(dry.value.code).toContain('7001: vm({');
    expect(dry.value.code).toContain('cloneFromHost: 7000,');
    expect(dry.value.code).toContain("password: fromEnv('PHOENIX_VM_7001_PASSWORD'),");
    expect(dry.value.text).not.toMatch(/hunter2|\$5\$/);

    const done = await adopt({ host: host(), configFile: file, ids: [7001], dryRun: false });
    if (!done.ok) throw new Error(done.error);
    expect(done.value.guests[0]?.stamped).toBe(true);
    const text = readFileSync(file, 'utf8');
    // The user's lines are all still there; the import line gained fromEnv.
    for (const line of before.split('\n').filter((l) => !l.startsWith('import ')))
      expect(text).toContain(line);
    expect(text).toMatch(/import \{[^}]*fromEnv[^}]*\} from 'phoenix-pve'/);
    const check = p.run(['check']);
    expect(check.status).toBe(0);
    expect(check.stdout).toContain(
      'secret from the environment: PHOENIX_VM_7001_PASSWORD (unset: Phoenix leaves the value on the host as it is)',
    );
  }, 300_000);
});
