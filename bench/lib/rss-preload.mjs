// Loaded with `node --import` into the measured Phoenix process only (not inherited by the
// simulator processes it spawns): writes the process's peak resident set size (KiB) at exit, and
// its CPU time (ms, user + system) beside it.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.PHOENIX_BENCH_RSS_FILE;
  if (!file) return;
  try {
    const u = process.resourceUsage();
    writeFileSync(file, String(u.maxRSS));
    writeFileSync(`${file}.cpu`, String((u.userCPUTime + u.systemCPUTime) / 1000));
  } catch {
    // measuring must never change the outcome
  }
});
