import type { Command } from 'commander';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('phoenix build: not implemented yet\n');
      process.exitCode = 2;
    });
}
