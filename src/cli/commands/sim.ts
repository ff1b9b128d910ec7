import type { Command } from 'commander';

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('phoenix sim: not implemented yet\n');
      process.exitCode = 2;
    });
}
