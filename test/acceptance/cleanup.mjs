// The acceptance suite's clean-up after an interrupt, as a process of its own: the test runner
// ends its worker soon after Ctrl-C, so the worker hands the clean-up over to this detached
// process. It waits for the interrupted `phoenix` run to finish its running steps (a killed
// `pct clone` would leave a locked half-made guest), then destroys the suite's guests.
// Usage: node cleanup.mjs '<json {waitPid, ids, flags, env, cwd}>'
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const { waitPid, ids, flags, env, cwd } = JSON.parse(process.argv[2]);
const bin = path.resolve(import.meta.dirname, '../../bin/phoenix.js');
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = Date.now() + 600_000;
while (waitPid && alive(waitPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
process.stderr.write(`acceptance clean-up: destroying ${ids.join(' ')}\n`);
const r = spawnSync(process.execPath, [bin, 'destroy', '--yes', ...ids, ...flags], {
  cwd,
  env: { ...process.env, ...env },
  stdio: ['ignore', 'inherit', 'inherit'],
});
process.stderr.write(
  `acceptance clean-up: ${r.status === 0 ? 'done' : `phoenix destroy exited ${r.status}`}\n`,
);
process.exitCode = r.status ?? 1;
