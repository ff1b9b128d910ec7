// Bundles the CLI, the simulator's commands and the DSL runtime with esbuild.
// Dependencies stay external: they are installed by `npm ci` and load faster from node_modules
// than re-bundled, and the DSL runtime must stay tiny because every config load imports it.
import { build } from 'esbuild';

const entries = {
  cli: 'src/cli/main.ts',
  sim: 'src/sim/cli.ts',
  dsl: 'src/dsl/index.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
