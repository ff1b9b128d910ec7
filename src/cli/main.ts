// Entry point of the `phoenix` command. Each verb lives in its own module under ./commands and
// registers itself here; this file only wires them up and turns a failure into an exit code.
import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { registerAdopt } from './commands/adopt.js';
import { registerBuild } from './commands/build.js';
import { registerCheck } from './commands/check.js';
import { registerCheckHealth } from './commands/check-health.js';
import { registerDestroy } from './commands/destroy.js';
import { registerExplain } from './commands/explain.js';
import { registerGraph } from './commands/graph.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
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
  .version(pkg.version, '-V, --version', 'print the version')
  .description(
    'A typed, make-like build tool for Proxmox VE guests.\n' +
      'Declare LXC containers and VMs in phoenix.config.ts; phoenix builds what is stale, in parallel.',
  )
  // A usage error is one line with commander's suggestion, exit 2 — not the whole help.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(usageLine(text)) })
  .enablePositionalOptions();

for (const register of [
  registerBuild,
  registerInit,
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

/** `error: unknown command 'biuld'\n(Did you mean build?)` → `phoenix: unknown command 'biuld' (did you mean build?)`. */
function usageLine(text: string): string {
  const message = text.replace(/^error: /, '').trim();
  const hint = /\n\((Did you mean [^)]*)\)$/.exec(message);
  const first = message.split('\n')[0]!;
  return `phoenix: ${first}${hint ? ` (${hint[1]!.replace(/^Did/, 'did')})` : ' (see phoenix --help)'}\n`;
}

/** Exit code of a command line phoenix could not make sense of. */
const EXIT_USAGE = 2;

if (process.argv.length <= 2) {
  process.stderr.write(
    'phoenix: no command given (try `phoenix build --sim`; `phoenix --help` lists the commands)\n',
  );
  process.exitCode = EXIT_USAGE;
} else
  program.parseAsync(process.argv).catch((error: unknown) => {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    // Expected failures are reported by the commands themselves; anything reaching here is a bug,
    // but a Proxmox admin still gets one line, not a stack trace (set PHOENIX_DEBUG=1 for it).
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`phoenix: internal error: ${message}\n`);
    if (process.env.PHOENIX_DEBUG) console.error(error);
    process.exitCode = 70;
  });
