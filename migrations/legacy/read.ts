// Finds the legacy files among the paths a user gave (folders or files) and parses them.
// Any subset of the three files is accepted; which file is which is decided by its name, or,
// for a renamed file, by its top-level keys.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type JsonSource, parseJsonSource } from './json-source.js';

export type LegacyKind = 'lxc' | 'vm' | 'hypervisor';

export const LEGACY_FILE_NAMES: Record<LegacyKind, string> = {
  lxc: 'phoenix_lxc_configs.json',
  vm: 'phoenix_vm_configs.json',
  hypervisor: 'phoenix_hypervisor_config.json',
};

export interface LegacyInputs {
  lxc?: JsonSource;
  vm?: JsonSource;
  hypervisor?: JsonSource;
  /** Files seen and deliberately not read (the JSON Schemas), for the report. */
  ignored: string[];
  /** A legacy installation folder given whole (`etc/` + `bin/`): where its scripts are. */
  bin?: string;
}

export type ReadResult = { ok: true; value: LegacyInputs } | { ok: false; error: string };

function kindByName(file: string): LegacyKind | undefined {
  const name = basename(file);
  for (const [kind, legacyName] of Object.entries(LEGACY_FILE_NAMES)) {
    if (name === legacyName) return kind as LegacyKind;
  }
  return undefined;
}

function kindByContent(value: unknown): LegacyKind | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.includes('lxc_configs')) return 'lxc';
  if (keys.includes('vms') && !keys.includes('zfs') && !keys.includes('users')) return 'vm';
  const hypervisorKeys = ['zfs', 'users', 'network', 'core_paths', 'proxmox_storage_ids', 'samba', 'nfs'];
  if (keys.some((k) => hypervisorKeys.includes(k))) return 'hypervisor';
  return undefined;
}

function isInstall(dir: string): boolean {
  const has = (sub: string) => {
    try {
      return statSync(join(dir, sub)).isDirectory();
    } catch {
      return false;
    }
  };
  return (
    has('etc') && has('bin') && !readdirSync(dir).some((n) => Object.values(LEGACY_FILE_NAMES).includes(n))
  );
}

/** Reads the files; `paths` are folders or files as given on the command line. */
export function readLegacyInputs(paths: string[]): ReadResult {
  if (paths.length === 0) return { ok: false, error: 'no input: give a folder or legacy JSON files' };
  const files: string[] = [];
  const ignored: string[] = [];
  let bin: string | undefined;
  for (let p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      return { ok: false, error: `${p}: no such file or folder` };
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    // A whole legacy installation (`/usr/local/phoenix_hypervisor`): configs in etc/, scripts in bin/.
    if (isInstall(p)) {
      bin = join(p, 'bin');
      p = join(p, 'etc');
    }
    const names = readdirSync(p).sort();
    const found = names.filter((n) => Object.values(LEGACY_FILE_NAMES).includes(n));
    for (const n of names) if (n.endsWith('.schema.json')) ignored.push(join(p, n));
    if (found.length === 0) {
      return {
        ok: false,
        error: `${p}: no legacy config in this folder (expected ${Object.values(LEGACY_FILE_NAMES).join(', ')})`,
      };
    }
    for (const n of found) files.push(join(p, n));
  }

  const inputs: LegacyInputs = { ignored, ...(bin ? { bin } : {}) };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { ok: false, error: `${file}: cannot read${code ? ` (${code})` : ''}` };
    }
    const parsed = parseJsonSource(file, text);
    if (!parsed.ok) return parsed;
    const kind = kindByName(file) ?? kindByContent(parsed.value.value);
    if (!kind) {
      return {
        ok: false,
        error: `${file}:1:1: not a legacy Phoenix config (no lxc_configs, vms or hypervisor keys at the top level)`,
      };
    }
    const top = parsed.value.value;
    if (typeof top !== 'object' || top === null || Array.isArray(top)) {
      return { ok: false, error: `${file}:1:1: expected a JSON object at the top level` };
    }
    if (inputs[kind]) {
      return {
        ok: false,
        error: `${file}: a second ${LEGACY_FILE_NAMES[kind]} (first: ${inputs[kind].file})`,
      };
    }
    inputs[kind] = parsed.value;
  }
  return { ok: true, value: inputs };
}
