// Runs a Phoenix build in this process against the simulator's library instead of spawning one
// simulator process per host call: the same engine (expand, plan, schedule, steps, stamps) and the
// same simulator code and state folder, only without the ~0.2 s of Node start-up per call. Used to
// (a) prepare built hosts of 100 and 1000 guests for the no-op benchmark in minutes rather than an
// hour, and (b) trace which host calls each target makes and what the latency model charges for
// them (at speed 0, -j 1, so every call belongs to the one running target), for the bound.
import fs from 'node:fs';
import path from 'node:path';
import { loadEngine, ROOT } from './engine.mjs';

// The simulator's commands are whatever bin/sim holds (pct, qm, pvesh, pvesm and host tools like
// zfs, chown, mkdir, stat). Anything else would run on this machine for real, so only read-only
// commands Phoenix uses to read the host (grep over the state folder) may pass through.
const SIM_COMMANDS = new Set(fs.readdirSync(path.join(ROOT, 'bin/sim')));
// `sh` runs Phoenix's one file read (src/pve/bulk-read.ts: grep, and `stat` of bind-mount folders,
// which resolves to the simulator's own `stat` through PATH below).
const PASS_THROUGH = new Set(['grep', 'sh']);
const SIM_PATH = `${path.join(ROOT, 'bin/sim')}${path.delimiter}${process.env.PATH ?? ''}`;

/**
 * Builds `configFile` on the simulated host `simRoot` at speed 0, in process.
 * Returns { summary, trace } where trace is, with `trace: true`, the list of host calls
 * `{ target, cmd, args, exit, charged }` (`target` null for the state read, `charged` seconds of
 * the latency model at speed 1).
 */
export async function inprocBuild({ configFile, simRoot, jobs = 1, trace = false, historyDir }) {
  const E = await loadEngine();
  process.env.PHOENIX_SIM_ROOT = path.resolve(simRoot);
  process.env.PHOENIX_SIM_SPEED = '0';
  process.env.PHOENIX_SIM_AGENT_DELAY = '0';
  const loaded = await E.loadConfig(path.resolve(configFile));
  if (!loaded.ok) throw new Error(`${configFile}: ${JSON.stringify(loaded.error).slice(0, 500)}`);
  const engine = E.prepareEngine(loaded.value);
  if (!engine.ok) throw new Error(engine.error);
  const { config, targets, order, hasher } = engine.value;
  const ensured = E.ensureSimHost(process.env.PHOENIX_SIM_ROOT, E.simNeeds(config), false);
  if (ensured.missing.length) throw new Error(`sim host lacks ${ensured.missing.join('; ')}`);

  const calls = [];
  let current = null;
  let charged = 0;
  globalThis.__phoenixBenchCharge = (op, factor = 1) => {
    charged += E.LATENCY_S[op] * factor;
  };
  class InProcRunner extends E.LocalRunner {
    async run(cmd, args, opts = {}) {
      // flock runs a script that reads its input on stdin (src/targets/common.ts writeConfUnderLock):
      // the simulator's flock must run as its own process, given that input.
      if (cmd === 'flock') {
        const r = await super.run(cmd, args, opts);
        if (trace) calls.push({ target: current, cmd, args, exit: r.exitCode, charged: 0 });
        return r;
      }
      if (!SIM_COMMANDS.has(cmd)) {
        if (!PASS_THROUGH.has(cmd)) {
          throw new Error(`bench in-process runner: '${cmd}' is neither a simulator command nor read-only`);
        }
        const r = await super.run(cmd, args, opts);
        if (trace) calls.push({ target: current, cmd, args, exit: r.exitCode, charged: 0 });
        return r;
      }
      if (opts.mutating) this.calls.writes++;
      else this.calls.reads++;
      let stdout = '';
      let stderr = '';
      charged = 0;
      const exit = E.simMain(cmd, args, {
        out: (t) => {
          stdout += t;
        },
        err: (t) => {
          stderr += t;
        },
      });
      if (trace) calls.push({ target: current, cmd, args, exit, charged });
      if (opts.onLine) for (const l of `${stdout}${stderr}`.split('\n')) if (l.trim()) opts.onLine(l);
      return { exitCode: exit, stdout, stderr };
    }
  }
  const runner = new InProcRunner('sim-inproc', process.env.PHOENIX_SIM_ROOT, { PATH: SIM_PATH });
  const host = new E.Host(runner);
  const read = await host.readState(E.readNeeds(config));
  if (!read.ok) throw new Error(read.error);
  // What `phoenix build` reads once it has a plan (storage contents for creations), so the
  // in-process call count is the CLI's.
  const more = await E.completeRead(
    host,
    config,
    read.value,
    E.planFor(engine.value, read.value, order, new Set()),
  );
  if (!more.ok) throw new Error(more.error);
  const history = new E.History(historyDir ?? path.join(path.dirname(config.file), '.phoenix', 'bench-seed'));
  const events = [];
  const result = await E.execute({
    config,
    state: read.value,
    targets,
    order,
    forced: new Set(),
    hasher,
    host,
    jobs,
    policy: 'no-new',
    allowReplace: false,
    history,
    emit: (e) => {
      if (e.type === 'start') current = e.target;
      else if (e.type === 'done' || e.type === 'fail' || e.type === 'fresh') current = null;
      if (e.type !== 'output') events.push(e);
    },
    interrupt: { requested: false },
    // The simulator runs at speed 0 here: steps that wait (the guest agent) do not sleep either.
    sleep: E.sleeper(0),
  });
  delete globalThis.__phoenixBenchCharge;
  if (result.failed.length) {
    throw new Error(`in-process build failed: ${JSON.stringify(result.failed[0]).slice(0, 800)}`);
  }
  return {
    built: result.built,
    fresh: result.fresh,
    hostCalls: { ...runner.calls },
    trace: calls,
    targets: order.map((id) => {
      const t = targets.get(id);
      return { id, guest: t.guest, kind: t.kind, name: t.name, deps: [...t.deps] };
    }),
    guests: [...config.guests.values()].map((g) => ({
      vmid: g.vmid,
      kind: g.kind,
      template: g.template,
      cloneFrom: g.cloneFrom,
    })),
  };
}
