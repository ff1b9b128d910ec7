// The lower bound of a full build's makespan, from per-target durations and the constraints
// Proxmox imposes. Pure functions over plain data.
//
//   bound = read + max(CP, max over CT clone sources S of B_S, W / j)
//
//   read  the state read before any step (its calls, in sequence)
//   CP    the longest dependency path, each target weighing its duration
//   B_S   clones of one CT source serialize (`pct clone` holds `lock: disk` on the source for the
//         whole copy): min_i ES_i + Σ_i d_i + min_i tail_i over the clone steps i of S, where ES_i
//         is the earliest the clone step can start (its dependencies done), d_i its duration and
//         tail_i the longest path after it. The last clone of S to run starts no earlier than
//         min ES + the others' durations, and something still follows it.
//   W / j all the work spread perfectly over the j job slots
//
// Each of the three is a valid lower bound on its own, so their maximum is too.

/**
 * Per-target durations (seconds) from a trace of host calls:
 * d(t) = Σ over t's calls of (charged + perCall), where `charged` is what the latency model
 * charged the call and `perCall` a fixed extra per call (0 for the pure model, or the measured
 * start-up of a simulator process). A VM's `agent` step also waits for the guest agent, which
 * answers `agentBoot` after `qm start` returned: d(agent) ≥ agentBoot − (the part of `running`
 * after `qm start`) + its own calls.
 */
export function durationsFromTrace(targets, trace, { perCall = 0, agentBoot = 0 } = {}) {
  const d = new Map(targets.map((t) => [t.id, 0]));
  let read = 0;
  const afterStart = new Map();
  for (const c of trace) {
    const cost = c.charged + perCall;
    if (c.target === null || c.target === undefined) {
      read += cost;
      continue;
    }
    d.set(c.target, (d.get(c.target) ?? 0) + cost);
    if (/^vm\/\d+:running$/.test(c.target)) {
      if (c.cmd === 'qm' && c.args[0] === 'start') afterStart.set(c.target, 0);
      else if (afterStart.has(c.target)) afterStart.set(c.target, afterStart.get(c.target) + cost);
    }
  }
  for (const t of targets) {
    if (t.kind !== 'vm' || t.name !== 'agent') continue;
    const tail = afterStart.get(`vm/${t.guest}:running`);
    if (tail === undefined) continue;
    d.set(t.id, d.get(t.id) + Math.max(0, agentBoot - tail));
  }
  return { durations: d, read };
}

/** Topological order of targets (their `deps` name other targets' ids). */
export function topo(targets) {
  const byId = new Map(targets.map((t) => [t.id, t]));
  const seen = new Set();
  const out = [];
  const visit = (id) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const dep of byId.get(id)?.deps ?? []) if (byId.has(dep)) visit(dep);
    out.push(byId.get(id));
  };
  for (const t of targets) visit(t.id);
  return out;
}

/**
 * The bound. `targets`: [{ id, deps, guest, kind, name }]; `guests`: [{ vmid, kind, cloneFrom }];
 * `durations`: Map id → seconds; `read`: seconds before the first step; `jobs`: -j.
 */
export function makespanBound({ targets, guests, durations, read = 0, jobs }) {
  const order = topo(targets);
  const ids = new Set(order.map((t) => t.id));
  const dur = (id) => durations.get(id) ?? 0;
  const es = new Map();
  const ef = new Map();
  for (const t of order) {
    const start = Math.max(0, ...t.deps.filter((x) => ids.has(x)).map((x) => ef.get(x) ?? 0));
    es.set(t.id, start);
    ef.set(t.id, start + dur(t.id));
  }
  const dependents = new Map();
  for (const t of order)
    for (const x of t.deps) if (ids.has(x)) dependents.set(x, [...(dependents.get(x) ?? []), t.id]);
  const fromHere = new Map();
  for (const t of [...order].reverse()) {
    const next = Math.max(0, ...(dependents.get(t.id) ?? []).map((x) => fromHere.get(x)));
    fromHere.set(t.id, dur(t.id) + next);
  }
  const cp = Math.max(0, ...ef.values());
  const cpPath = [];
  {
    let cur = [...ef.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const byId = new Map(order.map((t) => [t.id, t]));
    while (cur) {
      cpPath.unshift(cur);
      const deps = byId.get(cur).deps.filter((x) => ids.has(x));
      cur = deps.sort((a, b) => ef.get(b) - ef.get(a))[0];
      if (cur && ef.get(cur) + 1e-9 < es.get(cpPath[0])) cur = undefined;
    }
  }

  const byVmid = new Map(guests.map((g) => [g.vmid, g]));
  const groups = new Map();
  for (const g of guests) {
    if (g.kind !== 'lxc' || g.cloneFrom === undefined || byVmid.get(g.cloneFrom)?.kind !== 'lxc') continue;
    const id = `lxc/${g.vmid}:exists`;
    if (!ids.has(id)) continue;
    groups.set(g.cloneFrom, [...(groups.get(g.cloneFrom) ?? []), id]);
  }
  let clone = { bound: 0, source: undefined, clones: 0 };
  for (const [source, clones] of groups) {
    const start = Math.min(...clones.map((c) => es.get(c)));
    const sum = clones.reduce((s, c) => s + dur(c), 0);
    const tail = Math.min(...clones.map((c) => fromHere.get(c) - dur(c)));
    const b = start + sum + tail;
    if (b > clone.bound) clone = { bound: b, source, clones: clones.length };
  }
  const work = order.reduce((s, t) => s + dur(t.id), 0);
  const workBound = work / jobs;
  const inner = Math.max(cp, clone.bound, workBound);
  const dominant =
    inner === cp ? 'critical path' : inner === clone.bound ? `clones of ${clone.source}` : 'work / j';
  return {
    bound: read + inner,
    read,
    criticalPath: cp,
    criticalPathTargets: cpPath,
    clone,
    work,
    workBound,
    dominant,
    serial: read + work,
  };
}

/**
 * Where the modelled work goes: host calls grouped by kind (`pct exec`, `qm set`, stamp writes,
 * ...), with their count and charged seconds, and the share of all charges that is process
 * start-up (`processStart` per call).
 */
export function callMix(trace, processStart) {
  const kinds = new Map();
  let total = 0;
  let starts = 0;
  for (const c of trace) {
    const stamp = c.args[0] === 'set' && c.args.includes('--description');
    const kind = stamp
      ? `${c.cmd} set --description (stamps)`
      : `${c.cmd} ${c.args[0] ?? ''}${c.args[0] === 'guest' ? ` ${c.args[1]}` : ''}`;
    const k = kinds.get(kind) ?? { kind, calls: 0, charged: 0 };
    k.calls++;
    k.charged += c.charged;
    kinds.set(kind, k);
    total += c.charged;
    if (c.charged >= processStart) starts += processStart;
  }
  return {
    calls: trace.length,
    charged: total,
    startShare: total ? starts / total : 0,
    kinds: [...kinds.values()].sort((a, b) => b.charged - a.charged),
  };
}
