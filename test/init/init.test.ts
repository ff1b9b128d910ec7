// `phoenix init` as a newcomer runs it: in an empty folder it writes a project that `phoenix check`
// and the TypeScript compiler accept as it is (types resolve `phoenix-pve` with no npm install), and
// it never overwrites a file. Runs dist/ (npm run build first).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'phoenix-init-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cwd: string, command: string, ...args: string[]) {
  const p = spawnSync(process.execPath, [command, ...args], { cwd, encoding: 'utf8' });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr };
}
const phoenix = (cwd: string, ...args: string[]) => run(cwd, path.join(root, 'bin/phoenix.js'), ...args);
const tsc = (cwd: string) =>
  run(cwd, path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json');

describe('phoenix init', () => {
  const dir = path.join(tmp, 'fleet');

  it('writes a commented project into a new folder and says what to run next', () => {
    const r = phoenix(tmp, 'init', 'fleet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      '.gitignore',
      'features',
      'package.json',
      'phoenix.config.ts',
      'tsconfig.json',
    ]);
    expect(r.stdout).toContain('phoenix build --sim');
    expect(r.stdout).toContain('cd fleet');
    const config = fs.readFileSync(path.join(dir, 'phoenix.config.ts'), 'utf8');
    expect(config.match(/^ {4}\/\/ /gm)?.length).toBeGreaterThan(5); // commented for a first reader
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))).toMatchObject({
      name: 'fleet',
      type: 'module',
    });
  });

  it('passes phoenix check: one template, one clone of it, one VM from a qcow2 cloud image', () => {
    const r = phoenix(dir, 'check', '--json');
    expect(r.code, r.stdout).toBe(0);
    const guests = JSON.parse(r.stdout).guests as {
      vmid: number;
      kind: string;
      template: boolean;
      cloneFrom?: number;
      image?: string;
      mounts?: unknown[];
      snapshots: unknown[];
    }[];
    const templates = guests.filter((g) => g.template);
    expect(templates).toHaveLength(1);
    expect(guests.filter((g) => g.cloneFrom === templates[0]!.vmid)).toHaveLength(1);
    expect(guests.filter((g) => g.kind === 'vm').map((g) => g.image)).toEqual([
      expect.stringMatching(/^local:import\/[^/]+\.qcow2$/),
    ]);
    // Proxmox cannot snapshot a container with bind mounts.
    for (const g of guests) if (g.mounts?.length) expect(g.snapshots).toEqual([]);
  });

  it('type-checks with tsc --noEmit, with phoenix-pve resolved to the types of this Phoenix', () => {
    expect(tsc(dir)).toMatchObject({ code: 0, stdout: '' });
    // Not vacuous: an undeclared clone source is a type error in that same project.
    const config = path.join(dir, 'phoenix.config.ts');
    const text = fs.readFileSync(config, 'utf8');
    fs.writeFileSync(config, text.replace('cloneFrom: 900', 'cloneFrom: 905'));
    try {
      expect(tsc(dir).stdout).toContain("Type '905' is not assignable");
    } finally {
      fs.writeFileSync(config, text);
    }
  });

  it('refuses to overwrite: run twice, or over one existing file, it names them, writes nothing and exits 2', () => {
    const again = phoenix(dir, 'init');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      'phoenix.config.ts, features/motd.sh, package.json, tsconfig.json, .gitignore',
    );
    const other = path.join(tmp, 'has-package');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'package.json'), '{"name":"mine"}\n');
    const r = phoenix(other, 'init');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^phoenix init: package\.json already exists in .*; nothing written\n/);
    expect(fs.readdirSync(other)).toEqual(['package.json']);
    expect(fs.readFileSync(path.join(other, 'package.json'), 'utf8')).toBe('{"name":"mine"}\n');
  });
});
