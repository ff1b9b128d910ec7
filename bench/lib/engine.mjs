// Bundles the engine and the simulator's library for in-process use by the benchmarks, with one
// change: the simulator's `simulate()` (src/sim/latency.ts, the one place every modelled
// duration is slept) also reports each charge to `globalThis.__phoenixBenchCharge(op, factor)`.
// That is how the bound computation learns which latency-table entries each host call costs,
// from the simulator's own code and table rather than a copy of them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'dist/bench-engine.mjs');
const SLEEP = 'sleepMs(LATENCY_S[op] * 1000 * speed * factor);';

const chargeHook = {
  name: 'bench-charge-hook',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]sim[\\/]latency\.ts$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!text.includes(SLEEP)) {
        throw new Error(
          `bench: src/sim/latency.ts no longer contains \`${SLEEP}\`; update the charge hook in bench/lib/engine.mjs`,
        );
      }
      return {
        contents: text.replace(SLEEP, `globalThis.__phoenixBenchCharge?.(op, factor); ${SLEEP}`),
        loader: 'ts',
      };
    });
  },
};

let loaded;
/** The bundled engine module (built once per process). */
export async function loadEngine() {
  if (loaded) return loaded;
  // bench/run.mjs bundles once and tells its children to reuse the bundle (no racing rewrites).
  if (!(process.env.PHOENIX_BENCH_REUSE_BUNDLE === '1' && fs.existsSync(OUT))) await bundleEngine();
  loaded = await import(OUT);
  return loaded;
}

/** Writes dist/bench-engine.mjs. */
export async function bundleEngine() {
  await build({
    entryPoints: [path.join(ROOT, 'bench/lib/engine-entry.mjs')],
    outfile: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
    plugins: [chargeHook],
  });
}
