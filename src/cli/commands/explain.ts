// `phoenix explain <id|target>`: why each target of a guest (or one target) is or is not stale,
// ninja's `-d explain` for Proxmox guests.
import type { Command } from 'commander';
import { planFor, readState, resolveRefs, selection } from '../../pipeline/engine.js';
import { JSON_VERSION } from '../../runner/events.js';
import { formatReason, reasonJson } from '../../runner/staleness.js';
import { addCommonOptions, type CommonFlags, fail, setup } from '../engine.js';
import { nodeFields, nodeText } from '../nodes.js';

interface ExplainFlags extends CommonFlags {
  json?: boolean;
}

export function registerExplain(program: Command): void {
  addCommonOptions(
    program
      .command('explain')
      .description('Explain why a guest or target is (or is not) stale')
      .argument('<ref...>', 'a guest (103) or a target (103:config, lxc/103:feature:docker)'),
  )
    .option('--json', 'print the verdicts as JSON')
    .action(async (refs: string[], flags: ExplainFlags) => {
      const ready = await setup('explain', flags);
      if (!ready) return;
      const { engine, host } = ready;
      const named = resolveRefs(engine, refs);
      if (!named.ok) return fail('explain', named.error);
      const sel = selection(engine, refs);
      if (!sel.ok) return fail('explain', sel.error);
      const read = await readState(engine, host);
      if (!read.ok) return fail('explain', `cannot read ${host.label}: ${read.error}`, 1);
      const verdicts = planFor(engine, read.value.state, sel.value, new Set());
      const shown = sel.value.filter((id) => named.value.includes(id));
      const state = read.value.state;
      const nodeOfTarget = (id: string) =>
        nodeFields(engine.config, engine.config.guests.get(engine.targets.get(id)!.guest)!, state);
      if (flags.json) {
        const out = shown.map((id) => {
          const v = verdicts.get(id)!;
          return {
            target: id,
            ...nodeOfTarget(id),
            stale: v.stale,
            action: v.effect,
            step: v.step,
            fingerprint: v.fingerprint,
            reasons: v.reasons.map(reasonJson),
          };
        });
        process.stdout.write(`${JSON.stringify({ version: JSON_VERSION, targets: out }, null, 2)}\n`);
        return;
      }
      for (const id of shown) {
        const v = verdicts.get(id)!;
        const t = engine.targets.get(id)!;
        const n = nodeOfTarget(id);
        const at = n.node ? ` (node ${nodeText({ node: n.node, ...n })})` : '';
        if (!v.stale) {
          const how =
            t.stamp === 'required' ? 'its stamp matches the inputs' : 'the host matches the declaration';
          const fp = t.stamp === 'none' ? '' : ` (fingerprint ${v.fingerprint})`;
          process.stdout.write(`${id}${at}: fresh — ${how}${fp}\n`);
          continue;
        }
        process.stdout.write(`${id}${at}: stale — would ${v.effect}: ${v.step}\n`);
        for (const r of v.reasons) process.stdout.write(`    because ${formatReason(r)}\n`);
        const staleDeps = t.deps.filter((d) => verdicts.get(d)?.stale);
        if (staleDeps.length)
          process.stdout.write(`    after: ${staleDeps.join(', ')} (stale dependencies)\n`);
      }
    });
}
