// Runs the DSL's own validation on what the importer is about to write, so an import never
// produces a file `phoenix check` rejects. The raw config is rebuilt from the same data the text
// was printed from, through the same `lxc`/`vm` helpers the file calls.

import { resolve } from 'node:path';
import { type LxcSpec, lxc, type VmSpec, vm } from '../../src/dsl/define.js';
import { validateConfig } from '../../src/dsl/validate.js';
import type { ImportedConfig } from './ir.js';

export async function validateImported(
  _text: string,
  config: ImportedConfig,
  file: string,
): Promise<string[]> {
  const guests: Record<string, unknown> = {};
  for (const g of config.guests) {
    guests[String(g.vmid)] =
      g.kind === 'lxc' ? lxc(g.fields as unknown as LxcSpec) : vm(g.fields as unknown as VmSpec);
  }
  const raw = {
    node: config.node,
    storages: Object.fromEntries(config.storages),
    features: Object.fromEntries(config.features),
    guests,
  };
  const result = validateConfig(raw, resolve(file));
  if (result.ok) return [];
  return result.error.map(
    (d) => `${d.path ? `${d.path}: ` : ''}${d.message}${d.fix ? ` (fix: ${d.fix})` : ''}`,
  );
}
