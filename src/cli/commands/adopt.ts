// `phoenix adopt [ids...] [--sim | --host ssh://...] [--dry-run]`: declares guests that already
// exist on the host in phoenix.config.ts (created if absent) and stamps them, so the next build
// leaves them as they are. Exit 0 adopted, 1 the host could not be read or stamped, 2 bad input.
import path from 'node:path';
import type { Command } from 'commander';
import { adopt } from '../../adopt/adopt.js';
import { DEFAULT_CONFIG } from '../../dsl/load.js';
import { parseIds } from '../common.js';
import { addCommonOptions, type CommonFlags, fail, makeHost } from '../engine.js';

interface AdoptFlags extends CommonFlags {
  dryRun?: boolean;
}

export function registerAdopt(program: Command): void {
  addCommonOptions(
    program
      .command('adopt')
      .description('Declare guests that already exist on the host (default: every undeclared one)')
      .argument('[ids...]', 'VMIDs to adopt (default: every guest on the host the config does not declare)'),
  )
    .option('-n, --dry-run', 'print the code that would be added; change nothing')
    .addHelpText(
      'after',
      [
        '',
        'Reads each guest from the host (kind, node, template, linked-clone source, cores, memory, swap,',
        'disks and mount points, networks, firewall, Proxmox features, raw lxc.* lines and idmap, GPU',
        'devices, tags, startup, cloud-init, snapshots) and writes it into the config in the style of',
        '`phoenix import`, leaving the rest of the file as it is. Each adopted guest is then stamped so',
        'the next build does nothing for it; whatever the host has that Phoenix cannot declare, or would',
        'still change, is listed per guest. Cloud-init passwords and SSH keys are never copied: the',
        "config reads them with fromEnv('PHOENIX_VM_<id>_PASSWORD'), and `phoenix check` lists them.",
        '',
        'Examples:',
        '  phoenix adopt --sim',
        '  phoenix adopt 105 106 --host ssh://root@pve1 --dry-run',
      ].join('\n'),
    )
    .action(async (refs: string[], flags: AdoptFlags) => {
      const ids = parseIds(refs);
      if (!ids.ok) return fail('adopt', ids.error);
      const host = makeHost(flags);
      if (!host.ok) return fail('adopt', host.error);
      const file = flags.config ?? DEFAULT_CONFIG;
      const r = await adopt({ host: host.value, configFile: file, ids: ids.value, dryRun: !!flags.dryRun });
      if (!r.ok && r.error.startsWith('nothing to adopt')) {
        process.stdout.write(`${r.error}\n`);
        return;
      }
      if (!r.ok) return fail('adopt', r.error, /^cannot|stamping|not stamped/.test(r.error) ? 1 : 2);
      const out = (l: string) => process.stdout.write(`${l}\n`);
      const o = r.value;
      if (flags.dryRun) out(o.created ? o.text.trimEnd() : o.code.trimEnd());
      for (const g of o.guests) {
        out(`${g.kind} ${g.vmid} ${g.name}${g.stamped ? ' (stamped)' : ''}`);
        for (const n of g.notes) out(`  - ${n}`);
      }
      const n = o.guests.length;
      const where = path.relative(process.cwd(), path.resolve(file)) || file;
      out(
        flags.dryRun
          ? `Would adopt ${n} guest${n === 1 ? '' : 's'} into ${where} (dry run: nothing written)`
          : `Adopted ${n} guest${n === 1 ? '' : 's'} into ${where}${o.created ? ' (new file)' : ''}`,
      );
    });
}
