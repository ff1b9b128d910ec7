import type { Command } from 'commander';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('phoenix status: not implemented yet\n');
      process.exitCode = 2;
    });
}
