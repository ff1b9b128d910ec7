// The scripts an imported config names (`features/<name>.sh`, `apps/<file>`), taken from the
// legacy installation when it was given whole (its `bin/`): the feature scripts
// (`lxc_setup/phoenix_hypervisor_feature_install_<name>.sh`, `vm_features/feature_install_<name>.sh`)
// and the application scripts, with every shared file they `source` inlined, so each script runs
// on its own inside the guest as Phoenix pushes it. A script the installation does not have
// becomes a placeholder, marked on its second line, that fails when run; a build against a real
// host refuses to run one (src/runner/checks.ts placeholderProblems).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

import { PLACEHOLDER_MARK } from '../../src/runner/checks.js';

export interface ScriptFile {
  /** Path relative to the config file. */
  path: string;
  content: string;
  /** Where it came from (relative to the installation), or undefined for a placeholder. */
  from?: string;
  /** Shared files inlined, and sourced files not found. */
  inlined: string[];
  missing: string[];
}

export function placeholderScript(script: string): string {
  return [
    '#!/usr/bin/env bash',
    `${PLACEHOLDER_MARK}: ${script} was created by \`phoenix import\`: the legacy script was not found.`,
    '# Port the legacy script here and delete the line above: keep it idempotent (a re-run must change nothing).',
    'set -euo pipefail',
    `echo "${script}: not ported from the legacy system yet" >&2`,
    'exit 1',
    '',
  ].join('\n');
}

/** Every file under `dir`, relative paths, sorted (the installation is small). */
function walk(dir: string, base = dir): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p)];
  });
}

/** The legacy file behind a config script path, if the installation has it. */
function legacySource(files: string[], script: string): string | undefined {
  const feature = /^features\/(.+)\.sh$/.exec(script)?.[1];
  if (feature) {
    const named = files.filter((f) => basename(f).endsWith(`install_${feature}.sh`));
    return named.find((f) => f.includes('lxc_setup')) ?? named[0];
  }
  const file = basename(script);
  return files.find((f) => f === file) ?? files.find((f) => basename(f) === file);
}

// `source x.sh`, `. "${SCRIPT_DIR}/../x.sh"`, `. "$(dirname "$0")/x.sh"`: the file name is what counts.
const SOURCE_LINE = /^(\s*)(?:source|\.)\s+(\S.*?\.(?:sh|bash))["']?\s*$/;

/** The script with each sourced file of the installation inlined (once; nested sources too). */
function inline(bin: string, files: string[], text: string, seen: Set<string>, out: ScriptFile): string {
  return text
    .split('\n')
    .map((line) => {
      const m = SOURCE_LINE.exec(line);
      if (!m) return line;
      const name = basename(m[2]!);
      const found = files.find((f) => basename(f) === name);
      if (!found) {
        if (!out.missing.includes(m[2]!)) out.missing.push(m[2]!);
        return line;
      }
      if (seen.has(found)) return `${m[1]}# ${name}: already inlined above`;
      seen.add(found);
      out.inlined.push(found);
      const body = inline(bin, files, readFileSync(join(bin, found), 'utf8'), seen, out)
        .replace(/^#!.*\n/, '')
        .replace(/\n+$/, '');
      return [
        `# --- ${found}, inlined by phoenix import (was: ${line.trim()}) ---`,
        body,
        `# --- end of ${found} ---`,
      ].join('\n');
    })
    .join('\n');
}

/** The files to write for the scripts a config names: legacy ones when found, else placeholders. */
export function projectScripts(scripts: string[], bin: string | undefined): ScriptFile[] {
  const files = bin ? walk(bin) : [];
  return scripts.map((path) => {
    const from = bin ? legacySource(files, path) : undefined;
    if (!bin || !from) return { path, content: placeholderScript(path), inlined: [], missing: [] };
    const out: ScriptFile = { path, content: '', from, inlined: [], missing: [] };
    const text = readFileSync(join(bin, from), 'utf8');
    const body = inline(bin, files, text, new Set([from]), out);
    const header = `# ${path}: the legacy ${from}, imported by \`phoenix import\`.${
      path.startsWith('features/')
        ? '\n# The legacy tool ran feature scripts on the Proxmox host (the CTID as $1, commands through\n# `pct exec`); Phoenix runs this script inside the guest: review the host-side parts.'
        : ''
    }`;
    const shebang = /^#!.*\n/.exec(body)?.[0] ?? '#!/usr/bin/env bash\n';
    out.content = `${shebang}${header}\n${body.replace(/^#!.*\n/, '')}`;
    return out;
  });
}
