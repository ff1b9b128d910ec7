import type { Command } from 'commander';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('phoenix import: not implemented yet\n');
      process.exitCode = 2;
    });
}
