// What the importer produces before it is printed: the authoring-API objects (the shape a
// user writes in phoenix.config.ts, field names from src/dsl/model.ts) plus the comments that
// flag mappings a human should look at. Insertion order of object keys is the print order.

import type { FeatureDecl, StorageDecl } from '../../src/dsl/model.js';

export interface ImportedGuest {
  vmid: number;
  kind: 'lxc' | 'vm';
  /** Authoring fields (no `vmid`/`kind`), in print order. */
  fields: Record<string, unknown>;
  /** Comment lines printed above the guest. */
  comments: string[];
  /** Comment lines printed above one of its fields (key: field name). */
  fieldComments: Map<string, string[]>;
  /** Comment lines printed where a field the import left out would stand (key: field name). */
  inPlaceComments?: Map<string, string[]>;
  /** Where the guest came from, for problems found across guests. */
  file: string;
  path: string;
}

export interface ImportedConfig {
  header: string[];
  /** Helpers from 'phoenix-pve' the values call besides defineConfig/lxc/vm (`fromEnv`). */
  helpers?: string[];
  node: string;
  nodeComment: string[];
  storages: Map<string, StorageDecl>;
  storageComments: Map<string, string[]>;
  features: Map<string, FeatureDecl>;
  guests: ImportedGuest[];
  /** Hypervisor-level data kept as a comment block at the end of the file. */
  trailer: string[];
  /** Legacy entries that could not be expressed at all: printed commented out, with the reason. */
  commented?: CommentedGuest[];
}

export interface CommentedGuest {
  file: string;
  /** Entry path: `lxc_configs.103`, `vms[2]`. */
  path: string;
  vmid?: number;
  /** The legacy entry as written (secrets are masked when printed). */
  value: unknown;
  reasons: string[];
}

export function addFieldComment(g: ImportedGuest, field: string, line: string): void {
  const list = g.fieldComments.get(field) ?? [];
  if (!list.includes(line)) list.push(line);
  g.fieldComments.set(field, list);
}

export function addInPlaceComment(g: ImportedGuest, field: string, lines: string[]): void {
  g.inPlaceComments ??= new Map();
  g.inPlaceComments.set(field, [...(g.inPlaceComments.get(field) ?? []), ...lines]);
}

/** A mapped guest plus what the cross-guest checks need to know about its legacy entry. */
export interface GuestExtra {
  guest: ImportedGuest;
  cloneFrom?: { vmid: number; path: string };
  deps: { vmid: number; path: string }[];
  /** `unprivileged` as written (LXC only); undefined when absent. */
  unprivileged?: boolean;
  templateSnapshotName?: string;
  /** Legacy `template_file`: a vzdump archive name. */
  templateFile?: { name: string; path: string };
  isTemplate: boolean;
  /** The legacy entry declared id_maps. */
  idmapDeclared?: boolean;
  /** Name as written, to report duplicates. */
  name?: string;
  /** Addresses, each with how to give it up when another guest already has it. */
  macs: { mac: string; path: string; release: () => string }[];
  ips: { ip: string; path: string; release: () => string }[];
}

/** A value printed as TypeScript code rather than a literal (`fromEnv('NAME')`). */
export class Code {
  constructor(readonly text: string) {}
}
