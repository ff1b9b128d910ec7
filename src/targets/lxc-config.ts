// LXC `config`: cores, memory, swap, hostname, networks, boot order, Proxmox features, DNS,
// tags, notes, GPU device entries, raw `lxc.*` lines (AppArmor) and the guest firewall. Observed by comparing
// the host config (pending values applied, as `pct config` shows it) with the declaration.
import type { BootDecl, FirewallDecl, LxcFeatures, LxcGuest, LxcNet } from '../dsl/model.js';
import { parseFirewall, serializeFirewall } from '../pve/format/index.js';
import { descriptionOf } from '../pve/state.js';
import { writeThen } from '../pve/write-then.js';
import { readStamps, splitDescription, writeStamps } from '../runner/stamps.js';
import type { Drift, Observation, StepContext, TargetContext } from '../runner/types.js';
import { StepError } from '../runner/types.js';
import {
  canonicalTags,
  editStoppedConf,
  must,
  propsDiffer,
  reread,
  showCommand,
  shutdownArgs,
  valueDrifts,
} from './common.js';
import { type Ctx, defineTarget, type StepCtx } from './define.js';
import { firewallDrifts, isFirewallDrift, wantFirewall } from './firewall.js';

export function netString(n: LxcNet): string {
  const parts = [`name=${n.name}`, `bridge=${n.bridge}`];
  if (n.firewall) parts.push('firewall=1');
  if (n.gw) parts.push(`gw=${n.gw}`);
  if (n.hwaddr) parts.push(`hwaddr=${n.hwaddr}`);
  parts.push(`ip=${n.ip}`);
  if (n.vlan !== undefined) parts.push(`tag=${n.vlan}`);
  parts.push('type=veth');
  return parts.join(',');
}

export function startupString(b: BootDecl): string | undefined {
  const parts: string[] = [];
  if (b.order !== undefined) parts.push(`order=${b.order}`);
  if (b.upDelayS !== undefined) parts.push(`up=${b.upDelayS}`);
  if (b.downDelayS !== undefined) parts.push(`down=${b.downDelayS}`);
  return parts.length ? parts.join(',') : undefined;
}

export function featuresString(f: LxcFeatures): string | undefined {
  const parts: string[] = [];
  if (f.fuse) parts.push('fuse=1');
  if (f.keyctl) parts.push('keyctl=1');
  if (f.mknod) parts.push('mknod=1');
  if (f.mount?.length) parts.push(`mount=${f.mount.join(';')}`);
  if (f.nesting) parts.push('nesting=1');
  return parts.length ? parts.join(',') : undefined;
}

/** Declared values of the schema keys Phoenix manages (`undefined` = not managed). */
export function lxcDeclared(g: LxcGuest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {
    hostname: g.name,
    cores: String(g.cores),
    memory: String(g.memoryMb),
    swap: String(g.swapMb),
    onboot: g.boot.onboot ? '1' : '0',
    startup: startupString(g.boot) ?? '',
    features: featuresString(g.pveFeatures) ?? '',
    nameserver: g.nameserver,
    searchdomain: g.searchdomain,
    tags: g.tags?.length ? canonicalTags(g.tags) : undefined,
  };
  // A NIC without its own `firewall` follows the guest's: pve-firewall filters only NICs with
  // `firewall=1` (pve-firewall src/PVE/Firewall.pm:4386, 4434), so an enabled `.fw` needs it.
  for (const n of g.net)
    out[`net${n.index}`] = netString({ ...n, firewall: n.firewall ?? g.firewall?.enabled === true });
  gpuDevices(g).forEach((dev, i) => {
    out[`dev${i}`] = dev;
  });
  return out;
}

/**
 * NVIDIA passthrough as Proxmox device entries (PVE 8.1+ `devN: [path=]<dev>`): pct sets them
 * without a conf-file edit, and Proxmox derives the cgroup rule from each device's real
 * major:minor (pve-container LXC.pm update_lxc_config) — nvidia-uvm's major is dynamic, so the
 * legacy tool's raw `c 234:* rwm` line was not reliable. A new devN is hot-plugged into a
 * running CT; a changed one stays pending until the next start (the `running` target applies it).
 */
export function gpuDevices(g: LxcGuest): string[] {
  if (!g.gpus.length) return [];
  return [
    ...g.gpus.map((i) => `/dev/nvidia${i}`),
    '/dev/nvidiactl',
    '/dev/nvidia-uvm',
    '/dev/nvidia-uvm-tools',
    '/dev/nvidia-caps/nvidia-cap1',
    '/dev/nvidia-caps/nvidia-cap2',
  ];
}

/**
 * A `netN` value for `pct set`: without a declared MAC, Proxmox would generate a new one and
 * break DHCP reservations, so the guest's current MAC is kept.
 */
export function keepHwaddr(value: string, host: string | undefined): string {
  if (/(^|,)hwaddr=/.test(value) || !host) return value;
  const mac = /(?:^|,)hwaddr=([^,]+)/.exec(host)?.[1];
  return mac ? `${value},hwaddr=${mac}` : value;
}

/** Options for `pct create` (the same values `config` manages, so a new CT needs no `pct set`). */
export function lxcCreateOptions(g: LxcGuest): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(lxcDeclared(g))) if (v) args.push(`--${k}`, v);
  return args;
}

// Changes Proxmox keeps pending on a running CT until its next start (pve-container Config.pm),
// and `hostname`: fast-plug (LXC/Config.pm:1612-1622), yet /etc/hostname and /etc/hosts inside the
// CT are only rewritten at the next start (LXC/Setup/Base.pm:695-703), and nothing records it.
const RESTART_KEYS = new Set(['features', 'nameserver', 'searchdomain', 'lxc', 'apparmor', 'hostname']);

function compare(key: string, host: string | undefined, want: string): boolean {
  if (want === '') return host !== undefined && host !== '';
  if (key === 'onboot') return (host ?? '0') !== want;
  if (key === 'tags') return canonicalTags(host) !== canonicalTags(want);
  if (/^dev\d+$/.test(key)) return host === undefined || propsDiffer(host, want, 'path');
  if (key.startsWith('net') || key === 'features' || key === 'startup') {
    return (
      host === undefined ||
      propsDiffer(host, want) ||
      propsDiffer(want, host.replace(/,?(hwaddr|type)=[^,]*/g, ''))
    );
  }
  return host !== want;
}

/** Raw lxc lines Phoenix manages (all but `lxc.idmap`, which is the idmap target's). */
export function declaredRawLxc(g: LxcGuest): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  for (const raw of g.rawLxc) {
    const m = /^(lxc\.[a-z0-9_\-.]+)(?::|\s*=)\s*(.*?)\s*$/.exec(raw.trim());
    if (m && m[1] !== 'lxc.idmap') lines.push([m[1]!, m[2]!]);
  }
  if (g.apparmor) {
    lines.push(['lxc.apparmor.profile', g.apparmor.profile]);
    if (g.apparmor.allowNesting) lines.push(['lxc.apparmor.allow_nesting', '1']);
  }
  return lines;
}

const lineText = ([k, v]: [string, string]) => `${k}: ${v}`;

/** The declared `.fw` file; refuses values with line breaks (they would add rules of their own). */
export function firewallFileText(vmid: number, fw: FirewallDecl): string {
  const bad = fw.rules.find((r) => Object.values(r).some((v) => typeof v === 'string' && /[\r\n]/.test(v)));
  if (bad)
    throw new StepError(`guest ${vmid}: a firewall rule value contains a line break; not writing ${vmid}.fw`);
  return serializeFirewall(wantFirewall(fw));
}

/**
 * The config step's firewall file, when it drifts: `wrap` writes it inside the step's own
 * `pct|qm set` (one host call, write-then.ts); `write` alone when no set is needed; `done` records it.
 */
export function firewallWrite(ctx: StepContext, drifts: Drift[], fw: FirewallDecl | undefined) {
  if (!fw || !drifts.some(isFirewallDrift)) return undefined;
  const vmid = ctx.guest.vmid;
  const file = `/etc/pve/firewall/${vmid}.fw`;
  const text = firewallFileText(vmid, fw);
  return {
    wrap: (cmd: string, args: string[]) => {
      ctx.log(`write ${file}`);
      return writeThen(file, text, ctx.host.mapPath, cmd, args);
    },
    write: async () => {
      ctx.log(`write ${file}`);
      await ctx.host.writeFile(file, text);
    },
    done: () => ctx.state.firewall.set(vmid, text),
  };
}

/** One drift per firewall option and per rule (by position), with old and new values. */
export function firewallDrift(ctx: TargetContext, fw: FirewallDecl | undefined): Drift[] {
  if (!fw) return [];
  const hostText = ctx.state.firewall.get(ctx.guest.vmid);
  const want = wantFirewall(fw);
  // Equal files in canonical form are no drift, whatever the line-level comparison would say.
  if (hostText !== undefined && serializeFirewall(parseFirewall(hostText)) === serializeFirewall(want))
    return [];
  const drifts = firewallDrifts(hostText, want);
  return drifts.length ? drifts : [{ field: 'firewall', host: 'differs', declared: 'declared file' }];
}

export function notesDrift(ctx: TargetContext): Drift | undefined {
  const want = ctx.guest.description;
  if (want === undefined || !ctx.gs) return undefined;
  const have = splitDescription(descriptionOf(ctx.gs)).notes;
  return have.trim() === want.trim() ? undefined : { field: 'description', host: have, declared: want };
}

/** The declared notes with the stamps the guest carries now. */
export function notesWithStamps(ctx: TargetContext): string {
  const stamps = readStamps(descriptionOf(ctx.gs), ctx.guest.vmid);
  return writeStamps(ctx.guest.description ?? '', ctx.guest.vmid, stamps.targets);
}

function observe(ctx: Ctx<LxcGuest>): Observation {
  const g = ctx.guest;
  const gs = ctx.gs;
  if (!gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const running = gs.status === 'running';
  const drifts = valueDrifts(gs.current.props, lxcDeclared(g), compare, RESTART_KEYS, running);
  // Undeclared interfaces and devices go. An extra `devN` is not harmless: a clone of a guest
  // with more GPUs keeps the surplus entries, and two devN naming one path stop the CT from
  // starting (`failed to mknod ...: File exists`, pve-container LXC.pm:1897-1903).
  const declared = lxcDeclared(g);
  for (const key of Object.keys(gs.current.props)) {
    if (/^(net|dev)\d+$/.test(key) && !(key in declared)) {
      drifts.push({ field: key, host: gs.current.props[key], declared: undefined });
    }
  }
  const haveRaw = gs.current.lxc.filter(([k]) => k !== 'lxc.idmap').map(lineText);
  const wantRaw = declaredRawLxc(g).map(lineText);
  if ([...haveRaw].sort().join('\n') !== [...wantRaw].sort().join('\n')) {
    drifts.push({
      field: 'lxc',
      host: haveRaw.join('; ') || '(none)',
      declared: wantRaw.join('; ') || '(none)',
      needsRestart: running,
    });
  }
  const notes = notesDrift(ctx);
  if (notes) drifts.push(notes);
  drifts.push(...firewallDrift(ctx, g.firewall));
  return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
}

function setArgs(ctx: Ctx<LxcGuest>, drifts: Drift[]): string[] {
  const g = ctx.guest;
  const set: string[] = [];
  const del: string[] = [];
  const declared = lxcDeclared(g);
  for (const d of drifts) {
    if (d.field === 'lxc' || isFirewallDrift(d) || d.field === 'description') continue;
    const want = d.declared ?? '';
    if (want === '' || declared[d.field] === '') del.push(d.field);
    else if (d.field.startsWith('net')) set.push(`--${d.field}`, keepHwaddr(want, d.host));
    else set.push(`--${d.field}`, want);
  }
  const args = ['set', String(g.vmid), ...set];
  if (del.length) args.push('--delete', del.join(','));
  return args;
}

async function run(ctx: StepCtx<LxcGuest>) {
  const obs = observe(ctx);
  const g = ctx.guest;
  if (obs.kind !== 'drift') {
    // Forced, or inputs changed that the host does not show: apply the declared values again.
    const host = ctx.gs?.current.props ?? {};
    const opts = lxcCreateOptions(g).map((v, i, all) =>
      /^--net\d+$/.test(all[i - 1] ?? '') ? keepHwaddr(v, host[(all[i - 1] ?? '').slice(2)]) : v,
    );
    const args = ['set', String(g.vmid), ...opts];
    await must(ctx, 'pct', args);
    return { changed: false };
  }
  const args = setArgs(ctx, obs.drifts);
  if (obs.drifts.some((d) => d.field === 'description')) args.push('--description', notesWithStamps(ctx));
  const fw = firewallWrite(ctx, obs.drifts, g.firewall);
  if (args.length > 2) await must(ctx, 'pct', args, undefined, fw?.wrap);
  else await fw?.write();
  fw?.done();
  let status: 'running' | 'stopped' | undefined;
  if (obs.drifts.some((d) => d.field === 'lxc')) {
    // Raw lines take effect at the next start, and Proxmox keeps no pending record of them
    // (the `running` target could not tell): the edit stops and starts the CT, as the plan announced.
    status = await writeRawLxc(ctx, g);
  } else if (ctx.gs?.status === 'running' && obs.drifts.some((d) => d.field === 'hostname')) {
    // A renamed CT keeps its old /etc/hostname until it starts again (see RESTART_KEYS).
    await must(ctx, 'pct', shutdownArgs(g.vmid, ctx.limits.shutdownTimeoutS));
    await must(ctx, 'pct', ['start', String(g.vmid)]);
    status = 'running';
  }
  await reread(ctx, status);
  return status ? { changed: true, status } : { changed: true };
}

/**
 * Raw `lxc.*` keys cannot be set through pct (Proxmox only reads them from the file), so the
 * file is rewritten — with the CT stopped and unlocked, and verified by re-reading it (see
 * editStoppedConf): the main section keeps everything but the managed raw lines.
 */
async function writeRawLxc(ctx: StepContext, g: LxcGuest): Promise<'running' | 'stopped'> {
  const want = declaredRawLxc(g).map(lineText).sort().join('\n');
  const managed = (lxc: Array<[string, string]>) =>
    lxc
      .filter(([k]) => k !== 'lxc.idmap')
      .map(lineText)
      .sort()
      .join('\n');
  return editStoppedConf(
    ctx,
    (conf) => {
      const idmap = conf.main.lxc.filter(([k]) => k === 'lxc.idmap');
      conf.main.lxc = [...declaredRawLxc(g), ...idmap];
    },
    (gs) => (managed(gs.conf.main.lxc) === want ? undefined : 'raw lxc.* lines'),
  );
}

export const lxcConfig = defineTarget<LxcGuest>({
  kind: 'config',
  guest: 'lxc',
  // On its declared node first (node.ts): every later step runs there.
  needs: () => ['node'],
  stamp: 'none',
  inputs: ({ guest: g }) => ({
    ...lxcDeclared(g),
    lxc: declaredRawLxc(g),
    firewall: g.firewall,
    notes: g.description,
  }),
  observe,
  describe: (ctx, obs) => {
    const g = ctx.guest;
    if (obs.kind !== 'drift') return `pct set ${g.vmid} (declared configuration)`;
    const parts = [];
    const args = setArgs(ctx, obs.drifts);
    if (args.length > 2) parts.push(showCommand('pct', args));
    if (obs.drifts.some((d) => d.field === 'lxc')) parts.push(`write lxc.* lines of ${g.vmid}.conf`);
    if (obs.drifts.some(isFirewallDrift)) parts.push(`write firewall/${g.vmid}.fw`);
    if (obs.drifts.some((d) => d.field === 'description')) parts.push('update notes');
    return parts.join('; ');
  },
  // `pct create` gets every schema value; raw lines and the firewall file come after. A clone
  // starts with its source's values instead.
  coveredByCreate: ({ guest: g }) =>
    g.cloneFrom === undefined && declaredRawLxc(g).length === 0 && !g.firewall,
  apply: run,
});
