// `phoenix status`: every declared guest and target against the host — fresh, stale (and why),
// or missing.
import type { Command } from 'commander';
import { planFor, readState } from '../../pipeline/engine.js';
import { outdatedClones } from '../../runner/checks.js';
import { JSON_VERSION } from '../../runner/events.js';
import { lockNote } from '../../runner/half-made.js';
import { reasonJson } from '../../runner/staleness.js';
import { addCommonOptions, type CommonFlags, fail, setup } from '../engine.js';
import { nodeFields, nodeText, showsNodes } from '../nodes.js';

interface StatusFlags extends CommonFlags {
  json?: boolean;
  all?: boolean;
}

export function registerStatus(program: Command): void {
  addCommonOptions(
    program.command('status').description('Show every guest and target: fresh, stale (and why), missing'),
  )
    .option('--json', 'print the status as JSON')
    .option('-a, --all', 'list every target, fresh ones too')
    .action(async (flags: StatusFlags) => {
      const ready = await setup('status', flags);
      if (!ready) return;
      const { engine, host } = ready;
      const read = await readState(engine, host);
      if (!read.ok) return fail('status', `cannot read ${host.label}: ${read.error}`, 1);
      const { state } = read.value;
      const verdicts = planFor(engine, state, engine.order, new Set());
      const outdated = new Map(outdatedClones(engine.config, state, verdicts).map((o) => [o.vmid, o.text]));
      const guests = [...engine.config.guests.values()].map((g) => {
        const gs = state.guests.get(g.vmid);
        const targets = engine.order
          .filter((id) => engine.targets.get(id)!.guest === g.vmid)
          .map((id) => {
            const v = verdicts.get(id)!;
            return {
              target: id,
              name: v.name,
              state: v.stale ? 'stale' : 'fresh',
              reasons: v.reasons.map(reasonJson),
            };
          });
        const staleCount = targets.filter((t) => t.state === 'stale').length;
        return {
          vmid: g.vmid,
          name: g.name,
          kind: g.kind,
          ...nodeFields(engine.config, g, state),
          state: !gs ? 'missing' : staleCount ? 'stale' : 'fresh',
          power: gs?.status ?? 'absent',
          template: gs?.template ?? false,
          lock: gs?.lock ?? null,
          ...(gs?.lock ? { lockNote: lockNote(state, g.vmid) } : {}),
          outdated: outdated.has(g.vmid),
          ...(outdated.has(g.vmid) ? { outdatedReason: outdated.get(g.vmid) } : {}),
          targets,
        };
      });
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ version: JSON_VERSION, host: host.label, guests }, null, 2)}\n`,
        );
        return;
      }
      // Columns as wide as the longest VMID and name, so a long name does not push its row out of line.
      const idW = Math.max(...guests.map((g) => String(g.vmid).length), 3) + 1;
      const nameW = Math.max(...guests.map((g) => g.name.length), 4) + 1;
      // A cluster: the node column after the kind (`pve1 → pve2` while a migration is due).
      const nodeCol = (g: (typeof guests)[number]) => (g.node ? nodeText({ node: g.node, ...g }) : '');
      const nodeW = showsNodes(engine.config) ? Math.max(...guests.map((g) => nodeCol(g).length)) + 1 : 0;
      for (const g of guests) {
        const stale = g.targets.filter((t) => t.state === 'stale');
        const power =
          (g.state === 'missing' ? '' : g.template ? ', template' : `, ${g.power}`) +
          (g.lockNote ? `, ${g.lockNote}` : '') +
          (g.outdatedReason ? `, outdated: ${g.outdatedReason}` : '');
        process.stdout.write(
          `${String(g.vmid).padEnd(idW)} ${g.name.padEnd(nameW)} ${g.kind.padEnd(4)} ${nodeW ? `${nodeCol(g).padEnd(nodeW)} ` : ''}${g.state}${power}${g.state === 'stale' ? ` (${stale.length}/${g.targets.length} targets stale)` : ''}\n`,
        );
        if (g.state === 'missing') continue;
        for (const t of flags.all ? g.targets : stale) {
          process.stdout.write(
            `${' '.repeat(idW + 1)}${t.name}: ${t.state === 'fresh' ? 'fresh' : t.reasons.map((r) => r.text).join('; ')}\n`,
          );
        }
      }
    });
}
