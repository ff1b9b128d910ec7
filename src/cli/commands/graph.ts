import type { Command } from 'commander';

export function registerGraph(program: Command): void {
  program
    .command('graph')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('phoenix graph: not implemented yet\n');
      process.exitCode = 2;
    });
}
