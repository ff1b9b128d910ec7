// Seeded fault injection. PHOENIX_SIM_FAULTS is a list of rules separated by `;`; the fields of a
// rule are separated by `:` or `,`:
//
//   seed=<int>            global seed (default 0); may stand alone or inside any rule
//   cmd=<pct|qm|pvesh|pvesm>   only this command (default: any)
//   op=<name>             only this operation: the subcommand (`create`, `clone`, `start`, `exec`,
//                         `push`, `template`, `snapshot`, `destroy`, `set`, `resize`, `import` for
//                         `qm disk import`/`importdisk`, `guest-exec`, `guest-ping`...; default any)
//   vmid=<int>            only this guest (the first VMID argument; for clone the *new* id also matches)
//   p=<0..1>              probability per matching call (default 1)
//   after=<n>             let the first n matching calls pass
//   times=<n>             fire at most n times (default unlimited)
//   mode=fail|crash|delay fail: the task fails the way Proxmox fails it, with Proxmox's clean-up
//                         (default); crash: the process is killed mid-task (SIGKILL), leaving what a
//                         killed task leaves (e.g. `lock: create`); delay: no failure, the task holds
//                         its locks for `delay` extra real seconds
//   delay=<seconds>       for mode=delay (default 5)
//   msg=<text>            the failure reason in Proxmox's message (default `simulated fault`)
//
// Examples: `seed=42,p=0.05` (5 % of all tasks fail), `op=clone:vmid=103:p=1`,
// `op=create:mode=crash:times=1`, `cmd=pct:op=clone:mode=delay:delay=3`.
// Decisions are deterministic for a given seed and sequence of calls: the n-th matching call of a
// rule draws hash(seed, rule, n); counters live in $ROOT/sim/faults-state.json.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type Out, readJson, writeJson } from './io.js';
import { withStateLock } from './lock.js';

export type FaultMode = 'fail' | 'crash' | 'delay';

export interface FaultRule {
  cmd?: string;
  op?: string;
  vmid?: number;
  p: number;
  after: number;
  times?: number;
  mode: FaultMode;
  delayS: number;
  msg: string;
}

export interface FaultSpec {
  seed: number;
  rules: FaultRule[];
}

/** Parses PHOENIX_SIM_FAULTS; returns an error message naming the bad field. */
export function parseFaults(text: string): { ok: true; value: FaultSpec } | { ok: false; error: string } {
  const spec: FaultSpec = { seed: 0, rules: [] };
  for (const chunk of text.split(';')) {
    if (chunk.trim() === '') continue;
    const rule: FaultRule = { p: 1, after: 0, mode: 'fail', delayS: 5, msg: 'simulated fault' };
    let fields = 0;
    for (const field of chunk.split(/[:,]/)) {
      if (field.trim() === '') continue;
      const m = /^\s*([a-z]+)=(.*?)\s*$/s.exec(field);
      if (!m) return { ok: false, error: `PHOENIX_SIM_FAULTS: bad field '${field}' (expected key=value)` };
      const [, key, value] = m as unknown as [string, string, string];
      const num = Number(value);
      const needNum = (): boolean => value !== '' && Number.isFinite(num);
      switch (key) {
        case 'seed':
          if (!needNum())
            return { ok: false, error: `PHOENIX_SIM_FAULTS: seed must be a number, got '${value}'` };
          spec.seed = num;
          continue;
        case 'cmd':
          rule.cmd = value;
          break;
        case 'op':
          if (value !== '*') rule.op = value;
          break;
        case 'vmid':
          if (!needNum())
            return { ok: false, error: `PHOENIX_SIM_FAULTS: vmid must be a number, got '${value}'` };
          rule.vmid = num;
          break;
        case 'p':
          if (!needNum() || num < 0 || num > 1) {
            return { ok: false, error: `PHOENIX_SIM_FAULTS: p must be between 0 and 1, got '${value}'` };
          }
          rule.p = num;
          break;
        case 'after':
          if (!needNum())
            return { ok: false, error: `PHOENIX_SIM_FAULTS: after must be a number, got '${value}'` };
          rule.after = num;
          break;
        case 'times':
          if (!needNum())
            return { ok: false, error: `PHOENIX_SIM_FAULTS: times must be a number, got '${value}'` };
          rule.times = num;
          break;
        case 'mode':
          if (value !== 'fail' && value !== 'crash' && value !== 'delay') {
            return {
              ok: false,
              error: `PHOENIX_SIM_FAULTS: mode must be fail, crash or delay, got '${value}'`,
            };
          }
          rule.mode = value;
          break;
        case 'delay':
          if (!needNum())
            return { ok: false, error: `PHOENIX_SIM_FAULTS: delay must be a number, got '${value}'` };
          rule.delayS = num;
          break;
        case 'msg':
          rule.msg = value;
          break;
        default:
          return { ok: false, error: `PHOENIX_SIM_FAULTS: unknown field '${key}'` };
      }
      fields++;
    }
    if (fields > 0) spec.rules.push(rule);
  }
  return { ok: true, value: spec };
}

interface FaultState {
  seen: Record<string, number>;
  fired: Record<string, number>;
}

function draw(seed: number, rule: number, n: number): number {
  const h = createHash('sha256').update(`${seed}/${rule}/${n}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/**
 * Decides whether the call `cmd op` on `vmids` fails now. Updates the counters of every matching
 * rule; returns the first rule that fires.
 */
export function decideFault(
  root: string,
  io: Out,
  spec: FaultSpec,
  cmd: string,
  op: string,
  vmids: number[],
): FaultRule | undefined {
  const matching = spec.rules
    .map((rule, index) => ({ rule, index }))
    .filter(
      ({ rule }) =>
        (rule.cmd === undefined || rule.cmd === cmd) &&
        (rule.op === undefined || rule.op === op) &&
        (rule.vmid === undefined || vmids.includes(rule.vmid)),
    );
  if (matching.length === 0) return undefined;
  const path = join(root, 'sim', 'faults-state.json');
  return withStateLock(io, path, () => {
    const state = readJson<FaultState>(path, { seen: {}, fired: {} });
    let hit: FaultRule | undefined;
    for (const { rule, index } of matching) {
      const key = String(index);
      const n = state.seen[key] ?? 0;
      state.seen[key] = n + 1;
      if (hit) continue;
      if (n < rule.after) continue;
      if (rule.times !== undefined && (state.fired[key] ?? 0) >= rule.times) continue;
      if (draw(spec.seed, index, n) < rule.p) {
        state.fired[key] = (state.fired[key] ?? 0) + 1;
        hit = rule;
      }
    }
    writeJson(path, state);
    return hit;
  });
}
