// LXC `idmap`: custom `lxc.idmap` lines (the declared ranges, gaps filled with the default
// unprivileged range starting at host id 100000) and the matching delegations for root in the
// host's /etc/subuid and /etc/subgid, which LXC's newuidmap enforces at start.
//
// The map is written after the CT exists (pct cannot set raw lxc keys), so its root disk was made
// under Proxmox's default map (container id N owned by host id 100000+N, pve-container
// LXC.pm:799-803) and Proxmox never re-owns it: files the CT already holds with a remapped id show
// as nobody/nogroup afterwards. `phoenix check` warns (src/dsl/warnings.ts); re-owning them from the
// host is left to the user.
import type { IdMapDecl, LxcGuest } from '../dsl/model.js';
import { UNPRIVILEGED_BASE as BASE } from '../pve/idshift.js';
import type { Observation, StepContext } from '../runner/types.js';
import { editStoppedConf, reread } from './common.js';
import { type Ctx, defineTarget, type StepCtx } from './define.js';

/** The size of Proxmox's default map (`lxc.idmap = u 0 100000 65536`). */
const RANGE = 65536;

/** Full map for one id type: the declared entries, the rest shifted by the default base. */
export function fullIdmap(decls: IdMapDecl[], type: 'uid' | 'gid'): string[] {
  const letter = type === 'uid' ? 'u' : 'g';
  const mine = decls.filter((d) => d.type === type).sort((a, b) => a.containerId - b.containerId);
  const lines: string[] = [];
  let next = 0;
  for (const d of mine) {
    if (d.containerId > next) lines.push(`${letter} ${next} ${BASE + next} ${d.containerId - next}`);
    lines.push(`${letter} ${d.containerId} ${d.hostId} ${d.size}`);
    next = d.containerId + d.size;
  }
  if (next < RANGE) lines.push(`${letter} ${next} ${BASE + next} ${RANGE - next}`);
  return lines;
}

// Any lxc.idmap line replaces Proxmox's default map for BOTH id types (pve-container LXC.pm
// update_lxc_config writes the defaults only `if ($unprivileged && !$custom_idmap)`), so a type
// without declared entries still needs its full default range.
export function declaredIdmap(g: LxcGuest): string[] {
  return g.idmap.length ? [...fullIdmap(g.idmap, 'uid'), ...fullIdmap(g.idmap, 'gid')] : [];
}

/** Lines root needs in /etc/subuid (`uid`) or /etc/subgid (`gid`). */
export function delegations(g: LxcGuest, type: 'uid' | 'gid'): string[] {
  return g.idmap.filter((d) => d.type === type).map((d) => `root:${d.hostId}:${d.size}`);
}

function observe(ctx: Ctx<LxcGuest>): Observation {
  const g = ctx.guest;
  if (!ctx.gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const have = ctx.gs.current.lxc
    .filter(([k]) => k === 'lxc.idmap')
    .map(([, v]) => v.trim().replace(/\s+/g, ' '));
  const want = declaredIdmap(g);
  if (have.join('|') !== want.join('|')) {
    return {
      kind: 'drift',
      drifts: [
        {
          field: 'lxc.idmap',
          host: have.join('; ') || '(default)',
          declared: want.join('; ') || '(default)',
          needsRestart: ctx.gs.status === 'running',
        },
      ],
    };
  }
  const missing = missingDelegations(ctx);
  if (missing.length) {
    return {
      kind: 'drift',
      drifts: [{ field: '/etc/subuid,/etc/subgid', host: 'missing', declared: missing.join(', ') }],
    };
  }
  return { kind: 'ok' };
}

/** Delegations root lacks for this guest's map (LXC's newuidmap refuses the start without them). */
function missingDelegations(ctx: Ctx<LxcGuest>): string[] {
  const files = ctx.state.subids;
  if (!files) return [];
  const g = ctx.guest;
  const have = (text: string) => new Set(text.split('\n').map((l) => l.trim()));
  const uid = have(files.uid);
  const gid = have(files.gid);
  return [
    ...delegations(g, 'uid')
      .filter((l) => !uid.has(l))
      .map((l) => `subuid ${l}`),
    ...delegations(g, 'gid')
      .filter((l) => !gid.has(l))
      .map((l) => `subgid ${l}`),
  ];
}

async function ensureLines(ctx: StepContext, file: string, lines: string[]): Promise<void> {
  if (!lines.length) return;
  const text = (await ctx.host.readFile(file)) ?? '';
  const have = new Set(text.split('\n').map((l) => l.trim()));
  const missing = lines.filter((l) => !have.has(l));
  if (!missing.length) return;
  ctx.log(`add ${missing.join(', ')} to ${file}`);
  await ctx.host.writeFile(
    file,
    `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n`,
  );
}

async function run(ctx: StepCtx<LxcGuest>) {
  const g = ctx.guest;
  await ensureLines(ctx, '/etc/subuid', delegations(g, 'uid'));
  await ensureLines(ctx, '/etc/subgid', delegations(g, 'gid'));
  ctx.state.subids = {
    uid: (await ctx.host.readFile('/etc/subuid')) ?? '',
    gid: (await ctx.host.readFile('/etc/subgid')) ?? '',
  };
  const want = declaredIdmap(g);
  const idmapOf = (lxc: Array<[string, string]>) =>
    lxc.filter(([k]) => k === 'lxc.idmap').map(([, v]) => v.trim().replace(/\s+/g, ' '));
  if (ctx.gs && idmapOf(ctx.gs.current.lxc).join('|') !== want.join('|')) {
    // The map applies at the next start; Proxmox records no pending change for raw lines.
    const status = await editStoppedConf(
      ctx,
      (conf) => {
        const others = conf.main.lxc.filter(([k]) => k !== 'lxc.idmap');
        conf.main.lxc = [...others, ...want.map((l) => ['lxc.idmap', l] as [string, string])];
      },
      (gs) => (idmapOf(gs.conf.main.lxc).join('|') === want.join('|') ? undefined : 'lxc.idmap lines'),
    );
    return { changed: true, status };
  }
  await reread(ctx);
  return { changed: true };
}

export const lxcIdmap = defineTarget<LxcGuest>({
  kind: 'idmap',
  guest: 'lxc',
  when: (g) => g.idmap.length > 0,
  needs: () => ['config'],
  stamp: 'none',
  inputs: ({ guest: g }) => ({
    idmap: declaredIdmap(g),
    subuid: delegations(g, 'uid'),
    subgid: delegations(g, 'gid'),
  }),
  observe,
  describe: ({ guest: g }) => `write lxc.idmap of ${g.vmid}.conf; delegate ids in /etc/subuid, /etc/subgid`,
  locks: ({ guest: g }) => [`guest:${g.vmid}`, 'host:idfiles'],
  apply: run,
});
