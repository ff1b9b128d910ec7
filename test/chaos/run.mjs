#!/usr/bin/env node
// `npm run test:chaos`: the long campaigns of the reliability suite, one after the other, each
// writing its figures into RELIABILITY.md; then the bad-input corpus with every verb on every
// case. Exit 1 when any of them failed. Extra arguments go to both campaigns
// (e.g. `npm run test:chaos -- --runs 20` for a quick pass).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const here = import.meta.dirname;
const root = path.resolve(here, '../..');
const extra = process.argv.slice(2);
const steps = [
  [process.execPath, [path.join(root, 'scripts', 'build.mjs')]],
  [process.execPath, [path.join(here, 'fault-campaign.chaos.mjs'), '--write', 'RELIABILITY.md', ...extra]],
  [process.execPath, [path.join(here, 'crash-points.chaos.mjs'), '--write', 'RELIABILITY.md']],
  [process.execPath, [path.join(here, 'kill-campaign.chaos.mjs'), '--write', 'RELIABILITY.md', ...extra]],
  [
    path.join(root, 'node_modules', '.bin', 'vitest'),
    ['run', 'test/reliability/bad-input.test.ts'],
    { PHOENIX_CORPUS_FULL: '1' },
  ],
];
let failed = 0;
for (const [cmd, args, env] of steps) {
  process.stdout.write(`\n$ ${[cmd, ...args].join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
