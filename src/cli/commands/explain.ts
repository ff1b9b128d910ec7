import type { Command } from 'commander';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('phoenix explain: not implemented yet\n');
      process.exitCode = 2;
    });
}
