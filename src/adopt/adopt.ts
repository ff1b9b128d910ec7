// `phoenix adopt`: guests that exist on the host but are not declared → declarations in
// phoenix.config.ts (the importer's style), and stamps on the guests so the next build finds
// nothing to do for them. Three steps:
//   read    the host state (the same bulk reader the build uses, Host.readState);
//   write   the declarations (from-host.ts), into the existing file (write.ts) or a new one;
//   stamp   each adopted guest with the fingerprints of its targets as now declared, when the
//           host already matches them; what still differs is reported as the next build's work.
// A config that would not load is never written, and nothing is stamped then.
import fs from 'node:fs';
import path from 'node:path';
import { emitConfig, guestSource } from '../../migrations/legacy/emit.js';
import { Code, type ImportedConfig } from '../../migrations/legacy/ir.js';
import { loadConfig } from '../dsl/load.js';
import type { Config, StorageDecl, StorageType, Vmid } from '../dsl/model.js';
import { STORAGE_TYPES } from '../dsl/shape.js';
import type { Host } from '../pve/host.js';
import { descriptionOf, type GuestState, type HostState } from '../pve/state.js';
import { contextFor, fingerprintOf, ScriptHasher } from '../runner/plan.js';
import { formatReason, ownReasons } from '../runner/staleness.js';
import { splitDescription, writeStamps } from '../runner/stamps.js';
import type { Result, Target } from '../runner/types.js';
import { expandConfig } from '../targets/registry.js';
import { type Adopted, adoptLxc, adoptVm } from './from-host.js';
import { addToConfig } from './write.js';

export interface AdoptRequest {
  host: Host;
  configFile: string;
  /** Guests to adopt; empty: every guest on the host that is not declared. */
  ids: Vmid[];
  dryRun: boolean;
}

export interface AdoptedGuest {
  vmid: Vmid;
  kind: 'lxc' | 'vm';
  name: string;
  /** Guessed, not expressible, or what the next build will still change. */
  notes: string[];
  stamped: boolean;
}

export interface AdoptOutcome {
  guests: AdoptedGuest[];
  /** The declarations added (dry run: what would be added). */
  code: string;
  /** The config text written (or that would be written). */
  text: string;
  created: boolean;
}

const KNOWN_TYPES = new Set<string>(STORAGE_TYPES);

export async function adopt(req: AdoptRequest): Promise<Result<AdoptOutcome, string>> {
  const file = path.resolve(req.configFile);
  const exists = fs.existsSync(file);
  let declared: Config | undefined;
  if (exists) {
    const loaded = await loadConfig(file);
    if (!loaded.ok)
      return {
        ok: false,
        error: `${req.configFile} does not load; fix it first (phoenix check):\n${loaded.error.map((d) => `  ${d.path}: ${d.message}`).join('\n')}`,
      };
    declared = loaded.value;
  }
  const state = await readHost(req.host);
  if (!state.ok) return state;
  const host = state.value;
  const chosen = choose(host, declared, req.ids);
  if (!chosen.ok) return chosen;
  if (chosen.value.length === 0)
    return { ok: false, error: 'nothing to adopt: every guest on the host is declared' };

  const node = declared?.node ?? mostCommonNode(chosen.value) ?? host.nodes[0] ?? 'pve';
  const ctxDeclared = new Set<Vmid>([...(declared?.guests.keys() ?? []), ...chosen.value.map((g) => g.vmid)]);
  const adopted = chosen.value.map((gs) => {
    const ctx = {
      state: host,
      declared: ctxDeclared,
      ...guesses(host, gs.node),
    };
    const a = gs.kind === 'lxc' ? adoptLxc(gs, ctx) : adoptVm(gs, ctx);
    if (gs.node !== node) a.guest.fields.node = gs.node;
    return a;
  });
  const storages = storagesFor(adopted, host, node, declared);
  const helpers = adopted.some((a) => callsCode(a.guest.fields)) ? ['fromEnv'] : [];

  const sources = await Promise.all(adopted.map((a) => guestSource(a.guest)));
  const code = sources.join('\n');
  let text: string;
  if (exists) {
    const kinds = new Set(adopted.map((a) => a.guest.kind));
    const added = await addToConfig(fs.readFileSync(file, 'utf8'), {
      guests: new Map(adopted.map((a, i) => [a.guest.vmid, sources[i]!])),
      storages: new Map([...storages.decls].map(([id, d]) => [id, storageSource(d)])),
      helpers: [...helpers, ...[...kinds].filter((k) => k === 'lxc' || k === 'vm')],
    });
    if (!added.ok) return added;
    text = added.value;
  } else {
    const config: ImportedConfig = {
      header: [
        `Adopted from the guests on ${req.host.label} by \`phoenix adopt\`.`,
        'Comments mark what the host does not record (guessed) or what Phoenix cannot declare.',
      ],
      helpers,
      node,
      nodeComment: [],
      storages: storages.decls,
      storageComments: new Map(),
      features: new Map(),
      guests: adopted.map((a) => a.guest).sort((x, y) => x.vmid - y.vmid),
      trailer: [],
    };
    text = await emitConfig(config);
  }

  const config = await loadText(file, text);
  if (!config.ok)
    return { ok: false, error: `the adopted config would not load, nothing written:\n${config.error}` };
  const result: AdoptedGuest[] = adopted.map((a) => ({
    vmid: a.guest.vmid,
    kind: a.guest.kind,
    name: String(a.guest.fields.name),
    notes: [
      ...a.notes,
      ...storages.notes.filter((n) => a.storages.some((s) => n.startsWith(`storage '${s}'`))),
    ],
    stamped: false,
  }));
  const stamps = planStamps(config.value, host, result);
  if (!req.dryRun) {
    fs.writeFileSync(file, text);
    const lock = await req.host.acquireLock();
    if (!lock.ok)
      return { ok: false, error: `${req.configFile} written, but the guests are not stamped: ${lock.error}` };
    try {
      // Each guest's config is its own (Proxmox locks per guest): a few writes at once.
      const queue = [...stamps];
      const failed: string[] = [];
      const worker = async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          const tool = s.kind === 'lxc' ? 'pct' : 'qm';
          const r = await req.host.runner.run(tool, ['set', String(s.vmid), '--description', s.description]);
          if (r.exitCode !== 0) failed.push(`stamping guest ${s.vmid} failed: ${r.stderr.trim()}`);
          else {
            const g = result.find((x) => x.vmid === s.vmid);
            if (g) g.stamped = true;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, stamps.length) }, worker));
      if (failed.length) return { ok: false, error: failed.sort().join('\n') };
    } finally {
      await req.host.releaseLock();
    }
  }
  return { ok: true, value: { guests: result, code, text, created: !exists } };
}

/** Whether a value holds printed code (the secret placeholders call `fromEnv`). */
function callsCode(v: unknown): boolean {
  if (v instanceof Code) return true;
  if (Array.isArray(v)) return v.some(callsCode);
  return typeof v === 'object' && v !== null && Object.values(v).some(callsCode);
}

/** The whole host: nodes and guests first, then storages, volumes and bind-mount owners. */
async function readHost(host: Host): Promise<Result<HostState, string>> {
  const first = await host.readState({ nodes: [], listContent: [] });
  if (!first.ok) return first;
  const nodes = first.value.nodes;
  const second = await host.readState({ nodes, listContent: [] });
  if (!second.ok) return second;
  const listContent = nodes.flatMap((node) =>
    [...(second.value.storages.get(node)?.values() ?? [])]
      .filter((s) => s.content.includes('vztmpl') || s.content.includes('import'))
      .map((s) => ({ node, storage: s.id })),
  );
  const hostDirs = new Set<string>();
  for (const gs of second.value.guests.values())
    for (const [k, v] of Object.entries(gs.current.props))
      if (/^mp\d+$/.test(k) && v.startsWith('/')) hostDirs.add(v.split(',')[0]!);
  const third = await host.readState({ nodes, listContent, idFiles: true, hostDirs: [...hostDirs].sort() });
  return third;
}

function choose(state: HostState, declared: Config | undefined, ids: Vmid[]): Result<GuestState[], string> {
  if (ids.length === 0)
    return {
      ok: true,
      value: [...state.guests.values()]
        .filter((g) => !declared?.guests.has(g.vmid))
        .sort((a, b) => a.vmid - b.vmid),
    };
  const out: GuestState[] = [];
  for (const id of ids) {
    const gs = state.guests.get(id);
    if (!gs) return { ok: false, error: `guest ${id} does not exist on the host` };
    if (declared?.guests.has(id))
      return { ok: false, error: `guest ${id} is already declared in ${path.basename(declared.file)}` };
    out.push(gs);
  }
  return { ok: true, value: out.sort((a, b) => a.vmid - b.vmid) };
}

function mostCommonNode(guests: GuestState[]): string | undefined {
  const count = new Map<string, number>();
  for (const g of guests) count.set(g.node, (count.get(g.node) ?? 0) + 1);
  return [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
}

/** A template and a cloud image present on the node, named when a guest's origin is unknown. */
function guesses(state: HostState, node: string): { guessOstemplate?: string; guessImage?: string } {
  const vols = [...(state.volumes.get(node) ?? [])].sort();
  const t = vols.find((v) => /:vztmpl\//.test(v));
  const i = vols.find((v) => /:import\/.*\.(qcow2|raw|vmdk)$/.test(v));
  return { ...(t ? { guessOstemplate: t } : {}), ...(i ? { guessImage: i } : {}) };
}

function storagesFor(
  adopted: Adopted[],
  state: HostState,
  node: string,
  declared: Config | undefined,
): { decls: Map<string, StorageDecl>; notes: string[] } {
  const decls = new Map<string, StorageDecl>();
  const notes: string[] = [];
  const ids = [...new Set(adopted.flatMap((a) => a.storages))]
    .filter((id) => id && !declared?.storages[id])
    .sort();
  for (const id of ids) {
    const s =
      state.storages.get(node)?.get(id) ?? [...state.storages.values()].map((m) => m.get(id)).find(Boolean);
    const type = s && KNOWN_TYPES.has(s.type) ? (s.type as StorageType) : 'dir';
    if (!s) notes.push(`storage '${id}' is not on the host: declared as a dir storage (guess)`);
    else if (type !== s.type)
      notes.push(`storage '${id}' has type ${s.type}, which Phoenix does not know: declared as dir`);
    decls.set(id, { type, content: s?.content.length ? [...s.content].sort() : ['images', 'rootdir'] });
  }
  return { decls, notes };
}

function storageSource(d: StorageDecl): string {
  return `{ type: '${d.type}', content: [${d.content.map((c) => `'${c}'`).join(', ')}] }`;
}

/** Loads config text as if it were the file (written beside it, so relative paths hold). */
async function loadText(file: string, text: string): Promise<Result<Config, string>> {
  const tmp = path.join(path.dirname(file), `.phoenix-adopt-${process.pid}.config.ts`);
  fs.writeFileSync(tmp, text);
  try {
    const loaded = await loadConfig(tmp, { cache: false });
    if (!loaded.ok)
      return { ok: false, error: loaded.error.map((d) => `  ${d.path}: ${d.message}`).join('\n') };
    return { ok: true, value: { ...loaded.value, file } };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

interface StampWrite {
  vmid: Vmid;
  kind: 'lxc' | 'vm';
  description: string;
}

/**
 * The stamp block each adopted guest gets: the fingerprint of every stamped target whose output
 * the host already shows. A target the host does not satisfy is left unstamped and reported
 * (the next build does that work). A VM without a boot disk is not stamped: a stamped VM without
 * scsi0 reads as one Phoenix left half-made.
 */
function planStamps(config: Config, state: HostState, guests: AdoptedGuest[]): StampWrite[] {
  const { targets } = expandConfig(config);
  const hasher = new ScriptHasher(config.file);
  const out: StampWrite[] = [];
  for (const g of guests) {
    const guest = config.guests.get(g.vmid);
    const gs = state.guests.get(g.vmid);
    if (!guest || !gs) continue;
    if (gs.kind === 'vm' && !gs.current.props.scsi0 && guest.cloneFrom === undefined) {
      g.notes.push('not stamped: a VM without scsi0 would read as half-made');
      continue;
    }
    const fresh: Record<string, string> = {};
    const mine = targets.filter((t: Target) => t.guest === g.vmid);
    for (const t of mine) {
      const ctx = { ...contextFor(config, state, guest), stamps: { by: g.vmid, targets: { ...fresh } } };
      const fp = fingerprintOf(t, ctx, hasher);
      const { reasons } = ownReasons(t, ctx, fp, false);
      const open = reasons.filter((r) => !(r.kind === 'missing' && t.stamp === 'required'));
      if (open.length === 0 && t.stamp !== 'none') fresh[t.name] = `${fp.decl}.${fp.scripts}`;
      for (const r of open) g.notes.push(`next build: ${t.name}: ${formatReason(r)}`);
    }
    const notes = splitDescription(descriptionOf(gs)).notes;
    const description = writeStamps(guest.description ?? notes, g.vmid, fresh);
    if (description !== descriptionOf(gs).replace(/\n+$/, ''))
      out.push({ vmid: g.vmid, kind: g.kind, description });
  }
  return out;
}
