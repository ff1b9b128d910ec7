// Entry point of the `phoenix` command. Each verb lives in its own module under ./commands and
// registers itself here; this file only wires them up and turns a failure into an exit code.
import { Command } from 'commander';
import { registerAdopt } from './commands/adopt.js';
import { registerBuild } from './commands/build.js';
import { registerCheck } from './commands/check.js';
import { registerCheckHealth } from './commands/check-health.js';
import { registerDestroy } from './commands/destroy.js';
import { registerExplain } from './commands/explain.js';
import { registerGraph } from './commands/graph.js';
import { registerImport } from './commands/import.js';
import { registerPower } from './commands/power.js';
import { registerSim } from './commands/sim.js';
import { registerStatus } from './commands/status.js';

// `phoenix status | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const program = new Command('phoenix')
  .description(
    'A typed, make-like build tool for Proxmox VE guests.\n' +
      'Declare LXC containers and VMs in phoenix.config.ts; phoenix builds what is stale, in parallel.',
  )
  .showHelpAfterError()
  .enablePositionalOptions();

for (const register of [
  registerBuild,
  registerCheck,
  registerGraph,
  registerExplain,
  registerStatus,
  registerImport,
  registerAdopt,
  registerSim,
  registerDestroy,
  registerPower,
  registerCheckHealth,
]) {
  register(program);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  // Expected failures are reported by the commands themselves; anything reaching here is a bug,
  // but a Proxmox admin still gets one line, not a stack trace (set PHOENIX_DEBUG=1 for it).
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`phoenix: internal error: ${message}\n`);
  if (process.env.PHOENIX_DEBUG) console.error(error);
  process.exitCode = 70;
});
