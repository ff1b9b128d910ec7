#!/usr/bin/env node
// Builds a config on a simulated host in one process (bench/lib/inproc.mjs), at speed 0:
//
//   node bench/lib/seed.mjs <config> <simRoot> [--jobs N] [--trace out.json]
//
// Prints a one-line JSON summary; with --trace also writes the targets, guests and host-call
// trace the bound computation needs.
import fs from 'node:fs';
import { inprocBuild } from './inproc.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const [config, simRoot] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!config || !simRoot) {
  console.error('usage: node bench/lib/seed.mjs <config> <simRoot> [--jobs N] [--trace out.json]');
  process.exit(2);
}
const traceFile = opt('--trace');
const t0 = performance.now();
const r = await inprocBuild({
  configFile: config,
  simRoot,
  jobs: Number(opt('--jobs') ?? 1),
  trace: !!traceFile,
});
if (traceFile) {
  fs.writeFileSync(traceFile, JSON.stringify({ targets: r.targets, guests: r.guests, trace: r.trace }));
}
console.log(
  JSON.stringify({
    built: r.built.length,
    fresh: r.fresh.length,
    hostCalls: r.hostCalls,
    ms: Math.round(performance.now() - t0),
    rssKb: process.resourceUsage().maxRSS,
  }),
);
