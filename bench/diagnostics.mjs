#!/usr/bin/env node
// Benchmark: how long `phoenix check` takes to report a config with many problems — each of N
// guests has three (a name with "_", an IP with an octet over 255, an undeclared storage), all
// located to file:line:column and printed with their source line. Locating and printing used to be
// quadratic in the number of problems (finding F14: 2000 bad guests took ~5 s).
//
//   node bench/diagnostics.mjs [N...] [--runs R] [--cli path/to/bin/phoenix.js]
//
// N defaults to 500 1000 2000 4000. Each run is a fresh `phoenix check` process (exit 2 expected);
// the median of R runs (default 3) is printed per N, with the time per problem, so growth that is
// worse than linear shows as a rising per-problem figure. Not part of bench/run.mjs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const value = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const runs = Number(value('--runs', '3'));
const cli = path.resolve(value('--cli', path.join(root, 'bin/phoenix.js')));
const sizes = args.filter((a, i) => /^\d+$/.test(a) && !['--runs'].includes(args[i - 1])).map(Number);
if (sizes.length === 0) sizes.push(500, 1000, 2000, 4000);

/** A config of n guests written the way people write them (calls, a spread, arrays), 3 problems each. */
function config(n) {
  const lines = [
    "import { defineConfig, lxc } from 'phoenix-pve';",
    '',
    'const shared = { cores: 2, memoryMb: 1024 };',
    '',
    'export default defineConfig({',
    '  guests: {',
    "    900: lxc({ name: 'base', template: true, ostemplate: 'local:vztmpl/ubuntu.tar.zst', rootfs: { storage: 'local', sizeGb: 8 } }),",
  ];
  for (let i = 0; i < n; i++) {
    const id = 1000 + i;
    lines.push(
      `    ${id}: lxc({`,
      `      name: 'bad_${id}',`,
      '      cloneFrom: 900,',
      '      ...shared,',
      `      net: [{ bridge: 'vmbr0', ip: '10.${(i >> 8) & 255}.${i & 255}.300/24' }],`,
      '    }),',
    );
  }
  lines.push('  },', '});', '');
  return lines.join('\n');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-bench-diagnostics-'));
try {
  console.log(`phoenix check on configs with many problems (${cli}, median of ${runs})`);
  for (const n of sizes) {
    const file = path.join(dir, `bad-${n}.ts`);
    fs.writeFileSync(file, config(n));
    const samples = [];
    let problems = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const p = spawnSync(process.execPath, [cli, 'check', '--config', file], {
        cwd: dir,
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      });
      samples.push(performance.now() - t0);
      const m = /(\d+) problems in /.exec(p.stderr ?? '');
      if (p.status !== 2 || !m) {
        console.error(
          `unexpected result for ${n} guests (exit ${p.status}):\n${(p.stderr ?? '').slice(-2000)}`,
        );
        process.exit(1);
      }
      problems = Number(m[1]);
    }
    const median = samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
    console.log(
      `${String(n).padStart(6)} guests ${String(problems).padStart(6)} problems ${median.toFixed(0).padStart(7)} ms` +
        `  ${((median * 1000) / problems).toFixed(0).padStart(5)} µs/problem`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
