// Shared by the adopt tests: a temp project whose simulated host is built first, then adopted.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRead, type Project, ROOT } from '../engine/helpers.js';

/** Calls that changed the host, from the simulator's log, after the first `from` calls. */
export function writesSince(p: Project, from: number): Array<{ cmd: string; args: string[] }> {
  return p
    .calls()
    .slice(from)
    .filter((c) => !isRead(c) && !['stat', 'grep'].includes(c.cmd));
}

/** `tsc --noEmit` of one config file, with `phoenix-pve` mapped to the repository's DSL; '' when clean. */
export function typeCheck(file: string): string {
  const dir = path.dirname(file);
  const tsconfig = path.join(dir, 'tsconfig.adopt.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        baseUrl: ROOT,
        typeRoots: [path.join(ROOT, 'node_modules/@types')],
        paths: { 'phoenix-pve': [path.join(ROOT, 'src/dsl/index.ts')] },
      },
      include: [file],
    }),
  );
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', tsconfig],
      {
        encoding: 'utf8',
      },
    );
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}
