// How the verbs show a guest's node: only for a config that declares several nodes, so the
// output of a single-node config stays as it was.
import type { Config, Guest } from '../dsl/model.js';
import type { HostState } from '../pve/state.js';

export const showsNodes = (config: Config): boolean => Object.keys(config.nodes ?? {}).length > 1;

/** The declared node, and where the guest is now when that differs (a migration is due). */
export function nodeOf(config: Config, g: Guest, state?: HostState): { node: string; hostNode?: string } {
  const node = g.node ?? config.node;
  const now = state?.guests.get(g.vmid)?.node;
  return now && now !== node ? { node, hostNode: now } : { node };
}

/** `pve2`, or `pve1 → pve2` for a guest still on another node. */
export function nodeText(n: { node: string; hostNode?: string }): string {
  return n.hostNode ? `${n.hostNode} → ${n.node}` : n.node;
}

/** The JSON fields of a guest's node, for a config with several nodes (else nothing). */
export function nodeFields(
  config: Config,
  g: Guest,
  state?: HostState,
): { node?: string; hostNode?: string } {
  return showsNodes(config) ? nodeOf(config, g, state) : {};
}
