// `phoenix sim init|reset|show`: manage the simulated Proxmox host that `--sim` builds run against
// (state folder PHOENIX_SIM_ROOT, default .phoenix/sim).
import type { Command } from 'commander';
import { Host } from '../../pve/host.js';
import { simRunner } from '../../pve/runner.js';
import { simEnv } from '../../sim/env.js';
import {
  initSimHost,
  isInitialized,
  resetSimHost,
  setSimNodeDown,
  showSimHost,
  simNodes,
} from '../../sim/init.js';

/** `--nodes 3` → pve1..pve3; `--nodes a,b` → those names. */
export function parseNodesOption(value: string): string[] | { error: string } {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1 || n > 64) return { error: `--nodes: a number of nodes from 1 to 64, got ${value}` };
    return n === 1 ? ['pve'] : Array.from({ length: n }, (_, i) => `pve${i + 1}`);
  }
  const names = value
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return names.length
    ? names
    : { error: `--nodes: a number or a comma-separated list of node names, got '${value}'` };
}

function rootOf(opts: { root?: string }): string {
  return opts.root ? simEnv({ ...process.env, PHOENIX_SIM_ROOT: opts.root }).root : simEnv().root;
}

export function registerSim(program: Command): void {
  const sim = program
    .command('sim')
    .description(
      'Manage the simulated Proxmox host used by --sim (state in PHOENIX_SIM_ROOT, default .phoenix/sim)',
    );

  sim
    .command('init')
    .description('Create the simulated host: node pve, storages, an Ubuntu 24.04 template and a cloud image')
    .option('--root <dir>', 'state folder (default: PHOENIX_SIM_ROOT or .phoenix/sim)')
    .option(
      '--nodes <n|names>',
      'a cluster: a number of nodes (pve1, pve2, ...) or comma-separated node names',
    )
    .action((opts: { root?: string; nodes?: string }) => {
      const root = rootOf(opts);
      const existed = isInitialized(root);
      const nodes = opts.nodes === undefined ? simEnv().node : parseNodesOption(opts.nodes);
      if (!Array.isArray(nodes) && typeof nodes !== 'string') {
        process.stderr.write(`phoenix sim init: ${nodes.error}\n`);
        process.exitCode = 2;
        return;
      }
      let created: string[];
      try {
        created = initSimHost(root, nodes);
      } catch (e) {
        process.stderr.write(`phoenix sim init: ${(e as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const all = simNodes(root);
      const what = all.length > 1 ? `simulated cluster (${all.join(', ')})` : 'simulated host';
      process.stdout.write(
        existed
          ? `Simulated host already initialized in ${root}${created.length ? ` (added ${created.join(', ')})` : ''}\n`
          : `Initialized ${what} in ${root}\n`,
      );
    });

  const node = sim.command('node').description('Take a simulated cluster node down or bring it back up');
  for (const [verb, down] of [
    ['down', true],
    ['up', false],
  ] as const) {
    node
      .command(`${verb} <node>`)
      .description(
        down
          ? 'The node stops answering: its commands fail like ssh (exit 255), the others see it offline'
          : 'The node answers again',
      )
      .option('--root <dir>', 'state folder (default: PHOENIX_SIM_ROOT or .phoenix/sim)')
      .action((name: string, opts: { root?: string }) => {
        const root = rootOf(opts);
        if (!isInitialized(root)) {
          process.stderr.write(`phoenix sim: no simulated host in ${root} (run \`phoenix sim init\`)\n`);
          process.exitCode = 2;
          return;
        }
        try {
          setSimNodeDown(root, name, down);
        } catch (e) {
          process.stderr.write(`phoenix sim node ${verb}: ${(e as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
        process.stdout.write(`Node ${name} is ${down ? 'down' : 'up'}\n`);
      });
  }

  sim
    .command('reset')
    .description('Delete all simulated guests, volumes and the call log, then initialize again')
    .option('--root <dir>', 'state folder (default: PHOENIX_SIM_ROOT or .phoenix/sim)')
    .action(async (opts: { root?: string }) => {
      const root = rootOf(opts);
      // Wiping the host under a running build (or destroy) would pull its guests from under it:
      // take the build lock like they do, and refuse while it is held.
      const host = new Host(simRunner(root));
      const lock = await host.acquireLock();
      if (!lock.ok) {
        process.stderr.write(`phoenix sim reset: refusing: ${lock.error}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        resetSimHost(root);
      } finally {
        await host.releaseLock();
      }
      process.stdout.write(`Reset simulated host in ${root}\n`);
    });

  sim
    .command('show')
    .description('Show the simulated host: storages, guests (status, lock) and the number of logged calls')
    .option('--root <dir>', 'state folder (default: PHOENIX_SIM_ROOT or .phoenix/sim)')
    .option('--json', 'print JSON')
    .action((opts: { root?: string; json?: boolean }) => {
      const root = rootOf(opts);
      if (!isInitialized(root)) {
        process.stderr.write(`phoenix sim: no simulated host in ${root} (run \`phoenix sim init\`)\n`);
        process.exitCode = 2;
        return;
      }
      const s = showSimHost(root, process.env.PHOENIX_SIM_NODE || undefined);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const lines =
        s.nodes.length > 1
          ? [
              `Simulated cluster in ${s.root}: ${s.nodes.map((n) => `${n.node}${n.down ? ' (down)' : ''}`).join(', ')}`,
              '',
              'Storages:',
            ]
          : [`Simulated host ${s.node} in ${s.root}`, '', 'Storages:'];
      for (const st of s.storages)
        lines.push(`  ${st.id.padEnd(28)} ${st.type.padEnd(8)} ${st.content.join(',')}`);
      lines.push('', s.guests.length ? 'Guests:' : 'Guests: none');
      for (const g of s.guests) {
        const flags = [g.template ? 'template' : '', g.lock ? `lock: ${g.lock}` : '']
          .filter(Boolean)
          .join(', ');
        const where = s.nodes.length > 1 ? `${(g.node ?? '').padEnd(8)} ` : '';
        lines.push(
          `  ${String(g.vmid).padEnd(8)} ${where}${g.kind.padEnd(5)} ${g.status.padEnd(8)} ${g.name}${flags ? `  (${flags})` : ''}`,
        );
      }
      lines.push('', `Calls logged: ${s.calls} (${root}/calls.jsonl)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
