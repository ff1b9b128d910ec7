// `phoenix graph`: the build graph as mermaid (guest level by default, --targets for targets),
// stale guests/targets styled, or as JSON.
import type { Command } from 'commander';
import { withAncestors } from '../../graph/graph.js';
import { type GuestNodeInfo, guestMermaid, type TargetNodeInfo, targetMermaid } from '../../graph/mermaid.js';
import { planFor, readState, resolveRefs } from '../../pipeline/engine.js';
import { JSON_VERSION } from '../../runner/events.js';
import type { Verdict } from '../../runner/staleness.js';
import { reasonJson } from '../../runner/staleness.js';
import { addCommonOptions, type CommonFlags, fail, setup } from '../engine.js';
import { showsNodes } from '../nodes.js';

interface GraphFlags extends CommonFlags {
  targets?: boolean;
  format: string;
  state?: boolean;
}

export function registerGraph(program: Command): void {
  addCommonOptions(
    program
      .command('graph')
      .description('Print the build graph (mermaid, or JSON with --format json); stale nodes are styled')
      .argument('[ids...]', 'only these guests and what they need'),
  )
    .option('--targets', 'one node per target instead of per guest')
    .option('--format <format>', 'mermaid or json', 'mermaid')
    .option('--no-state', 'do not read the host (no staleness styling)')
    .action(async (ids: string[], flags: GraphFlags) => {
      if (flags.format !== 'mermaid' && flags.format !== 'json')
        return fail('graph', `--format ${flags.format}: expected mermaid or json`);
      const ready = await setup('graph', flags);
      if (!ready) return;
      const { engine, host } = ready;
      let keep = new Set(engine.order);
      if (ids.length) {
        const r = resolveRefs(engine, ids);
        if (!r.ok) return fail('graph', r.error);
        keep = withAncestors(engine.graph, r.value);
      }
      const order = engine.order.filter((id) => keep.has(id));
      let verdicts = new Map<string, Verdict>();
      let missing = new Set<number>();
      let styled = false;
      if (flags.state !== false) {
        const read = await readState(engine, host);
        if (read.ok) {
          verdicts = planFor(engine, read.value.state, order, new Set());
          missing = new Set([...engine.config.guests.keys()].filter((v) => !read.value.state.guests.has(v)));
          styled = true;
        } else
          process.stderr.write(
            `phoenix graph: warning: cannot read ${host.label} (${read.error}); staleness not shown\n`,
          );
      }
      const guestIds = new Set(order.map((id) => engine.targets.get(id)!.guest));
      const guests: GuestNodeInfo[] = [...engine.config.guests.values()]
        .filter((g) => guestIds.has(g.vmid))
        .map((g) => ({
          vmid: g.vmid,
          name: g.name,
          kind: g.kind,
          template: g.template,
          ...(g.cloneFrom !== undefined ? { cloneFrom: g.cloneFrom } : {}),
          dependsOn: g.dependsOn,
          stale: order.some((id) => engine.targets.get(id)!.guest === g.vmid && verdicts.get(id)?.stale),
          missing: missing.has(g.vmid),
          ...(showsNodes(engine.config) ? { node: g.node ?? engine.config.node } : {}),
        }));
      const targets: TargetNodeInfo[] = order.map((id) => {
        const t = engine.targets.get(id)!;
        return {
          id,
          guest: t.guest,
          name: t.name,
          deps: t.deps.filter((d) => keep.has(d)),
          stale: !!verdicts.get(id)?.stale,
        };
      });
      if (flags.format === 'json') {
        // Without the host's state a node's state is unknown, not fresh.
        const stateOf = (n: { stale: boolean; missing?: boolean }) =>
          !styled ? 'unknown' : n.missing ? 'missing' : n.stale ? 'stale' : 'fresh';
        const json = {
          version: JSON_VERSION,
          hostState: styled,
          guests: guests.map(({ stale, missing, ...g }) => ({ ...g, state: stateOf({ stale, missing }) })),
          edges: guests.flatMap((g) => [
            ...(g.cloneFrom !== undefined && guestIds.has(g.cloneFrom)
              ? [{ from: g.cloneFrom, to: g.vmid, kind: 'clone' }]
              : []),
            ...g.dependsOn
              .filter((d) => guestIds.has(d))
              .map((d) => ({ from: d, to: g.vmid, kind: 'dependsOn' })),
          ]),
          targets: targets.map(({ stale, ...t }) => ({
            ...t,
            state: stateOf({ stale }),
            ...(styled ? { reasons: (verdicts.get(t.id)?.reasons ?? []).map(reasonJson) } : {}),
          })),
        };
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        flags.targets ? targetMermaid(guests, targets, styled) : guestMermaid(guests, styled),
      );
    });
}
