// `phoenix sim init|reset|show`: manage the simulated Proxmox host that `--sim` builds run against
// (state folder PHOENIX_SIM_ROOT, default .phoenix/sim).
import type { Command } from 'commander';
import { Host } from '../../pve/host.js';
import { simRunner } from '../../pve/runner.js';
import { simEnv } from '../../sim/env.js';
import { initSimHost, isInitialized, resetSimHost, showSimHost } from '../../sim/init.js';

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
    .action((opts: { root?: string }) => {
      const root = rootOf(opts);
      const existed = isInitialized(root);
      const created = initSimHost(root, simEnv().node);
      process.stdout.write(
        existed
          ? `Simulated host already initialized in ${root}${created.length ? ` (added ${created.join(', ')})` : ''}\n`
          : `Initialized simulated host in ${root}\n`,
      );
    });

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
        resetSimHost(root, simEnv().node);
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
      const s = showSimHost(root, simEnv().node);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const lines = [`Simulated host ${s.node} in ${s.root}`, '', 'Storages:'];
      for (const st of s.storages)
        lines.push(`  ${st.id.padEnd(28)} ${st.type.padEnd(8)} ${st.content.join(',')}`);
      lines.push('', s.guests.length ? 'Guests:' : 'Guests: none');
      for (const g of s.guests) {
        const flags = [g.template ? 'template' : '', g.lock ? `lock: ${g.lock}` : '']
          .filter(Boolean)
          .join(', ');
        lines.push(
          `  ${String(g.vmid).padEnd(8)} ${g.kind.padEnd(5)} ${g.status.padEnd(8)} ${g.name}${flags ? `  (${flags})` : ''}`,
        );
      }
      lines.push('', `Calls logged: ${s.calls} (${root}/calls.jsonl)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
