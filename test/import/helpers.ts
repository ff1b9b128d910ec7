// Shared by the import tests: temp folders with legacy files, and running the real CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const LEGACY = resolve(ROOT, 'test/fixtures/legacy');
export const BIN = join(ROOT, 'bin/phoenix.js');

export function tempDir(prefix = 'phoenix-import-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface LegacyFiles {
  lxc?: unknown;
  vm?: unknown;
  hypervisor?: unknown;
}

/** Writes the given legacy files (objects are serialised, strings written as is) into a new folder. */
export function legacyFolder(files: LegacyFiles): string {
  const dir = tempDir('phoenix-legacy-');
  const names = {
    lxc: 'phoenix_lxc_configs.json',
    vm: 'phoenix_vm_configs.json',
    hypervisor: 'phoenix_hypervisor_config.json',
  } as const;
  for (const [kind, name] of Object.entries(names)) {
    const v = files[kind as keyof LegacyFiles];
    if (v === undefined) continue;
    writeFileSync(join(dir, name), typeof v === 'string' ? v : `${JSON.stringify(v, null, 4)}\n`);
  }
  return dir;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function phoenix(args: string[], cwd = ROOT): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let built = false;
/** dist/ must be fresh before spawning bin/phoenix.js. */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
  built = true;
}

export function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

/** A minimal valid container entry, to be overridden per test. */
export function ct(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'ct',
    memory_mb: 1024,
    cores: 1,
    storage_pool: 'local-lvm',
    storage_size_gb: 8,
    unprivileged: true,
    network_config: { name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' },
    ...over,
  };
}

export const BASE_TEMPLATE = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
