// VM `config`: cores, memory, name, network, boot order, agent flag, cloud-init user, password
// and ipconfig, DNS, tags, notes and firewall. Proxmox stores the cloud-init password as a
// SHA-256-crypt hash; Phoenix checks the declared password against that hash and keeps no hash of
// its own — the password never enters the fingerprint, whose stamp sits in the guest's Notes
// where anyone with VM.Audit can read it (a short unsalted hash there would be crackable).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { VmGuest } from '../dsl/model.js';
import {
  looksLikeCryptHash,
  parseQemuNet,
  printQemuNet,
  sha256Crypt,
  verifySha256Crypt,
} from '../pve/format/index.js';
import type { Drift, Observation } from '../runner/types.js';
import { canonicalTags, must, propsDiffer, reread, showCommand, valueDrifts } from './common.js';
import { type Ctx, defineTarget, type StepCtx } from './define.js';
import { isFirewallDrift } from './firewall.js';
import { firewallDrift, firewallWrite, notesDrift, notesWithStamps, startupString } from './lxc-config.js';

export function vmNetString(g: VmGuest): string {
  const nic = g.mac ? `virtio=${g.mac},bridge=${g.bridge}` : `virtio,bridge=${g.bridge}`;
  // pve-firewall builds a guest's rules only for NICs with `firewall=1` (`next if !$net->{firewall}`,
  // pve-firewall src/PVE/Firewall.pm:4386, 4434, 4526): without it the `.fw` file is never enforced.
  return g.firewall?.enabled ? `${nic},firewall=1` : nic;
}

/** Without a declared MAC, keep the VM's current one (a new MAC breaks DHCP reservations). */
export function keepMac(value: string, host: string | undefined): string {
  const want = parseQemuNet(value);
  const have = host ? parseQemuNet(host) : undefined;
  if (!want || want.macaddr || !have?.macaddr) return value;
  return printQemuNet({ ...want, macaddr: have.macaddr });
}

export function ipconfigString(g: VmGuest): string {
  const ci = g.cloudInit;
  return ci.gw ? `ip=${ci.ip},gw=${ci.gw}` : `ip=${ci.ip}`;
}

export function vmDeclared(g: VmGuest): Record<string, string | undefined> {
  return {
    name: g.name,
    cores: String(g.cores),
    memory: String(g.memoryMb),
    onboot: g.boot.onboot ? '1' : '0',
    startup: startupString(g.boot) ?? '',
    agent: g.agent ? '1' : '0',
    net0: vmNetString(g),
    ciuser: g.cloudInit.user,
    ipconfig0: ipconfigString(g),
    nameserver: g.cloudInit.nameserver,
    searchdomain: g.cloudInit.searchdomain,
    tags: g.tags?.length ? canonicalTags(g.tags) : undefined,
  };
}

// qemu-server keeps these pending on a running VM until the next start.
const RESTART_KEYS = new Set([
  'cores',
  'memory',
  'agent',
  'ciuser',
  'ipconfig0',
  'nameserver',
  'searchdomain',
]);

function compare(key: string, host: string | undefined, want: string): boolean {
  if (want === '') return host !== undefined && host !== '';
  if (key === 'onboot') return (host ?? '0') !== want;
  if (key === 'agent') {
    const h = host === undefined ? '0' : /(^|,)(enabled=)?1(,|$)/.test(host) ? '1' : '0';
    return h !== want;
  }
  if (key === 'net0') {
    const h = host ? parseQemuNet(host) : undefined;
    const g = parseQemuNet(want);
    if (!h || !g) return true;
    if (h.rest.bridge !== g.rest.bridge || h.model !== g.model) return true;
    if ((h.rest.firewall === '1') !== (g.rest.firewall === '1')) return true;
    return g.macaddr !== undefined && g.macaddr.toLowerCase() !== (h.macaddr ?? '').toLowerCase();
  }
  if (key === 'tags') return canonicalTags(host) !== canonicalTags(want);
  if (key === 'ipconfig0' || key === 'startup')
    return host === undefined || propsDiffer(host, want) || propsDiffer(want, host);
  return host !== want;
}

function observe(ctx: Ctx<VmGuest>): Observation {
  const g = ctx.guest;
  const gs = ctx.gs;
  if (!gs) return { kind: 'missing', detail: 'guest does not exist yet' };
  const drifts: Drift[] = valueDrifts(
    gs.current.props,
    vmDeclared(g),
    compare,
    RESTART_KEYS,
    gs.status === 'running',
  );
  const password = passwordDrift(g, gs.current.props.cipassword);
  if (password) drifts.push(password);
  const keys = sshKeysDrift(g, gs.current.props.sshkeys);
  if (keys) drifts.push(keys);
  const notes = notesDrift(ctx);
  if (notes) drifts.push(notes);
  drifts.push(...firewallDrift(ctx, g.firewall));
  return drifts.length ? { kind: 'drift', drifts } : { kind: 'ok' };
}

function setArgs(ctx: Ctx<VmGuest>, obs: Observation): string[] {
  const g = ctx.guest;
  const declared = vmDeclared(g);
  // Stale without visible drift (forced, or an input observation cannot see changed): apply
  // everything.
  const fields =
    obs.kind === 'drift'
      ? obs.drifts.map((d) => d.field)
      : Object.keys(declared).filter((k) => declared[k] !== undefined);
  const set: string[] = [];
  const del: string[] = [];
  for (const f of fields) {
    if (isFirewallDrift({ field: f, host: undefined, declared: undefined })) continue;
    if (f === 'description' || f === 'sshkeys') continue;
    const want = declared[f];
    if (want === undefined) continue;
    if (want !== '') set.push(`--${f}`, f === 'net0' ? keepMac(want, ctx.gs?.current.props.net0) : want);
    else if (ctx.gs?.current.props[f] !== undefined) del.push(f);
  }
  // Sent only when the stored hash does not verify (or the guest is yet to be made), so a
  // rebuild does not re-hash it with a new salt.
  const sendPassword =
    obs.kind === 'drift' ? obs.drifts.some((d) => d.field === 'cipassword') : obs.kind === 'missing';
  if (sendPassword && g.cloudInit.password) set.push('--cipassword', cryptPassword(g.cloudInit.password));
  const args = ['set', String(g.vmid), ...set];
  if (del.length) args.push('--delete', del.join(','));
  return args;
}

/**
 * The password as Proxmox would store it, so the clear text never appears in a command line (the
 * host's process list, sshd/auditd logs): qemu-server stores a value that already is a crypt hash
 * as given, and hashes anything else with a random-salt `$5$` itself (API2/Qemu.pm:2530-2536,
 * PVE::Tools::encrypt_pw), which is what this does on this side.
 */
export function cryptPassword(password: string): string {
  if (looksLikeCryptHash(password)) return password;
  const alphabet = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const salt = [...randomBytes(16)].map((b) => alphabet[b & 63]).join('');
  return sha256Crypt(password, `$5$${salt}`)!;
}

// Checking a password against a SHA-256-crypt hash costs 5000 digests (~10 ms): once per hash and
// password in a process, however many times plans and steps observe the guest.
const verified = new Map<string, boolean>();

/** Whether Proxmox's stored `cipassword` is the declared password. */
export function passwordMatches(declared: string, stored: string | undefined): boolean {
  if (stored === undefined) return false;
  // A declared hash is stored as given; a Windows guest (`ostype: win*`) keeps the clear text.
  if (looksLikeCryptHash(declared) || !looksLikeCryptHash(stored)) return stored === declared;
  // Another crypt form ($1$, $6$, bcrypt) got there some other way: set the password again.
  if (!stored.startsWith('$5$')) return false;
  const key = `${stored}\0${declared}`;
  let ok = verified.get(key);
  if (ok === undefined) {
    ok = verifySha256Crypt(declared, stored);
    verified.set(key, ok);
  }
  return ok;
}

/** Drift of the cloud-init password, naming neither the password nor the stored hash. */
function passwordDrift(g: VmGuest, stored: string | undefined): Drift | undefined {
  const want = g.cloudInit.password;
  if (!want || passwordMatches(want, stored)) return undefined;
  return {
    field: 'cipassword',
    host: stored === undefined ? undefined : 'does not match the declared password',
    declared: '<hidden>',
  };
}

/** Proxmox stores the keys URI-encoded; compared as trimmed lines. */
function sshKeysDrift(g: VmGuest, host: string | undefined): Drift | undefined {
  if (!g.cloudInit.sshKeys?.length) return undefined;
  let have = '';
  try {
    have = decodeURIComponent(host ?? '');
  } catch {
    have = host ?? '';
  }
  const norm = (t: string) =>
    t
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join('\n');
  const want = norm(g.cloudInit.sshKeys.join('\n'));
  if (norm(have) === want) return undefined;
  const count = (t: string) => `${t ? t.split('\n').length : 0} keys`;
  return { field: 'sshkeys', host: count(norm(have)), declared: count(want) };
}

async function run(ctx: StepCtx<VmGuest>) {
  const g = ctx.guest;
  const obs = observe(ctx);
  const args = setArgs(ctx, obs);
  let tmp: string | undefined;
  const keysDrift = obs.kind !== 'drift' || obs.drifts.some((d) => d.field === 'sshkeys');
  if (keysDrift && g.cloudInit.sshKeys?.length) {
    // `qm set --sshkeys` takes a file (the CLI reads it on the host): stage one there.
    tmp = mkdtempSync(path.join(tmpdir(), 'phoenix-'));
    const local = path.join(tmp, `sshkeys-${g.vmid}.pub`);
    writeFileSync(local, `${g.cloudInit.sshKeys.join('\n')}\n`);
    args.push('--sshkeys', await ctx.host.stage(local));
  }
  if (obs.kind === 'drift' && obs.drifts.some((d) => d.field === 'description')) {
    args.push('--description', notesWithStamps(ctx));
  }
  const fw = obs.kind === 'drift' ? firewallWrite(ctx, obs.drifts, g.firewall) : undefined;
  try {
    if (args.length > 2) await must(ctx, 'qm', args, undefined, fw?.wrap);
    else await fw?.write();
    fw?.done();
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  await reread(ctx);
  return { changed: obs.kind === 'drift' };
}

export const vmConfig = defineTarget<VmGuest>({
  kind: 'config',
  guest: 'vm',
  // On its declared node first (node.ts): every later step runs there.
  needs: () => ['node'],
  // Everything is observable (the password through Proxmox's hash of it): the stamp only
  // catches what observation cannot see.
  stamp: 'optional',
  // Never the password: the stamp is readable in the guest's Notes (see the top of this file).
  inputs: ({ guest: g }) => ({
    ...vmDeclared(g),
    sshKeys: g.cloudInit.sshKeys,
    firewall: g.firewall,
    notes: g.description,
  }),
  observe,
  describe: (ctx, obs) => showCommand('qm', setArgs(ctx, obs)),
  apply: run,
});
