#!/usr/bin/env node
// `npm run test:pack`: the package as a user gets it. Packs the repository (`prepack` builds dist/),
// installs the tarball globally into a temp prefix (dependencies from the npm cache, else the
// registry), then — with only that prefix and Node on PATH, outside any checkout — runs
// `phoenix --version`, `phoenix init`, `phoenix check`, `phoenix build --sim` twice and `tsc` on the
// new project (so the DSL types ship). Not part of `npm test`: it installs ~70 packages (~15–30 s).
// Exit 0 when every step passes; otherwise the failing step, its output, exit 1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-pack-'));
const prefix = path.join(tmp, 'prefix');
const project = path.join(tmp, 'my-fleet');
const keep = process.argv.includes('--keep');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// What a machine with Node and nothing else has on PATH: the global prefix, Node, the system.
const userEnv = {
  HOME: process.env.HOME ?? tmp,
  PATH: [path.join(prefix, 'bin'), path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(
    path.delimiter,
  ),
  PHOENIX_SIM_SPEED: '0',
  PHOENIX_SIM_ROOT: path.join(project, '.phoenix/sim'),
};

let failed = false;
function step(title, command, args, options = {}) {
  const started = Date.now();
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  const ok = r.status === 0 && (options.expect?.(r.stdout) ?? true);
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${title} (${took}s)\n`);
  if (!ok) {
    process.stdout.write(`  exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n`);
    process.stdout.write(`${r.stdout}${r.stderr}`.replace(/^/gm, '  | '));
    process.stdout.write('\n');
    failed = true;
  }
  return r;
}

try {
  const packed = step('npm pack', npm, ['pack', '--json', '--pack-destination', tmp], { cwd: root });
  const info = failed ? undefined : JSON.parse(packed.stdout)[0];
  const files = new Set(info?.files.map((f) => f.path) ?? []);
  const wanted = [
    'bin/phoenix.js',
    'bin/sim/pct',
    'dist/cli.js',
    'dist/dsl.js',
    'dist/sim.js',
    'src/dsl/index.ts',
  ];
  const missing = wanted.filter((f) => !files.has(f));
  const extra = [...files].filter((f) => /^(test|src\/(?!dsl\/)|scripts|features|apps)\//.test(f));
  if (info && (missing.length || extra.length)) {
    process.stdout.write(
      `FAIL tarball contents: missing ${missing.join(', ') || '—'}; unwanted ${extra.join(', ') || '—'}\n`,
    );
    failed = true;
  }
  if (info) {
    const tarball = path.join(tmp, info.filename);
    step(
      'npm install -g from the tarball into a temp prefix',
      npm,
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        tarball,
      ],
      { cwd: tmp },
    );
  }
  fs.mkdirSync(project);
  const user = (title, args, expect) => step(title, 'phoenix', args, { cwd: project, env: userEnv, expect });
  if (!failed) {
    user('phoenix --version', ['--version'], (out) => out.trim() === pkg.version);
    user('phoenix init', ['init'], (out) => out.includes('phoenix build --sim'));
    user('phoenix check', ['check']);
    user('phoenix build --sim', ['build', '--sim']);
    user('phoenix build --sim again: nothing to do', ['build', '--sim'], (out) =>
      /\b0 host writes\b/.test(out),
    );
    step('tsc --noEmit on the new project (the DSL types ship)', process.execPath, [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(project, 'tsconfig.json'),
    ]);
  }
} finally {
  if (keep) process.stdout.write(`kept ${tmp}\n`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(failed ? 'test:pack failed\n' : 'test:pack passed\n');
process.exitCode = failed ? 1 : 0;
