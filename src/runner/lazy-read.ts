// What the two-call state read leaves out, asked only when the plan needs it: live power states
// (the read's come from pvestatd's broadcast, up to 10 s old) once a step will act on a guest
// that exists, and storage contents once a guest is to be created from an OS template or a
// cloud image. A no-op plan needs neither, so a no-op stays at two host calls.
import type { Config, Guest } from '../dsl/model.js';
import type { Host } from '../pve/host.js';
import type { HostState } from '../pve/state.js';
import type { Verdict } from './staleness.js';
import type { Result } from './types.js';

const nodeOf = (config: Config, g: Guest) => g.node ?? config.node;
const storageOfVolume = (volid: string) => /^([^:/\s]+):/.exec(volid)?.[1];

/** Storages whose content the plan checks must see: those holding the OS template or image of a guest to be created (not cloned). */
export function contentNeeds(
  config: Config,
  verdicts: Map<string, Verdict>,
): Array<{ node: string; storage: string }> {
  const out = new Map<string, { node: string; storage: string }>();
  for (const v of verdicts.values()) {
    if (!v.stale || v.name !== 'exists') continue;
    const g = config.guests.get(v.guest);
    if (!g || g.cloneFrom !== undefined) continue;
    const vol = g.kind === 'lxc' ? g.ostemplate : g.image;
    const sid = vol && !vol.startsWith('/') ? storageOfVolume(vol) : undefined;
    if (sid) out.set(`${nodeOf(config, g)}/${sid}`, { node: nodeOf(config, g), storage: sid });
  }
  return [...out.values()];
}

/** Nodes whose power states must be asked live: some step will act on a guest of theirs that exists. */
export function statusNeeds(config: Config, state: HostState, verdicts: Map<string, Verdict>): string[] {
  if (!state.statusLagging) return [];
  const nodes = new Set<string>();
  for (const v of verdicts.values()) {
    if (!v.stale) continue;
    const gs = state.guests.get(v.guest);
    if (gs && !gs.template) nodes.add(gs.node);
    // A clone's source: Proxmox refuses to clone a running CT that is not a template.
    const g = config.guests.get(v.guest);
    const src = g?.cloneFrom !== undefined && v.name === 'exists' ? state.guests.get(g.cloneFrom) : undefined;
    if (src && !src.template) nodes.add(src.node);
  }
  return [...nodes];
}

/**
 * Completes `state` for the plan `verdicts`. Returns whether the power states changed (the plan
 * must then be made again: a guest pvestatd still saw stopped may be running by now).
 */
export async function completeRead(
  host: Host,
  config: Config,
  state: HostState,
  verdicts: Map<string, Verdict>,
): Promise<Result<boolean, string>> {
  const nodes = statusNeeds(config, state, verdicts);
  let changed = false;
  if (nodes.length) {
    const before = [...state.guests.values()].map((gs) => gs.status).join();
    const r = await host.confirmStatus(state, nodes);
    if (!r.ok) return r;
    changed = before !== [...state.guests.values()].map((gs) => gs.status).join();
  }
  const listed = state.contentListed ?? new Set<string>();
  const wanted = contentNeeds(config, verdicts).filter((c) => !listed.has(`${c.node}/${c.storage}`));
  if (wanted.length) {
    const r = await host.readContents(state, wanted);
    if (!r.ok) return r;
  }
  return { ok: true, value: changed };
}
