// Loaded with `node --import` into the measured Phoenix process only (not inherited by the
// simulator processes it spawns): writes the process's peak resident set size (KiB) at exit.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.PHOENIX_BENCH_RSS_FILE;
  if (!file) return;
  try {
    writeFileSync(file, String(process.resourceUsage().maxRSS));
  } catch {
    // measuring must never change the outcome
  }
});
