#!/usr/bin/env node
// Crash points (issue #8, part 1, half-made guests): the random fault campaign rarely kills the
// few calls that leave a half-made guest behind, so each of those is hit here on purpose, once:
// a Proxmox task killed mid-way (`mode=crash`: `lock: create` on a half-made CT or VM, `lock: disk`
// on a clone source, `snapstate: prepare`...) or failed (`mode=fail`, Proxmox's own clean-up), then
// plain re-runs until nothing is stale. Phoenix must recover — unlock, or destroy the half-made
// guest it created itself, never another — and say so; no guest lost, the foreign CT untouched.
//
//   node test/chaos/crash-points.chaos.mjs [--parallel 2] [--write RELIABILITY.md] [--out results.json]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { arg, declared, FLEET, FOREIGN, faultRun, pool, project, ROOT, writeBlock } from './lib.mjs';

const PARALLEL = Number(arg('parallel', '2'));
const FIXTURE = path.resolve(arg('fixture', FLEET));
const WRITE = arg('write', undefined);
const OUT = arg('out', undefined);

/** [what is hit, PHOENIX_SIM_FAULTS]. VMIDs are those of test/fixtures/engine/fleet. */
const POINTS = [
  ['pct create of the CT template 900 killed', 'cmd=pct,op=create,vmid=900,mode=crash,times=1'],
  [
    'pct clone 900 → 102 killed (lock: create on 102, lock: disk on 900)',
    'cmd=pct,op=clone,vmid=102,mode=crash,times=1',
  ],
  ['pct clone 900 → 901 (a template chain) killed', 'cmd=pct,op=clone,vmid=901,mode=crash,times=1'],
  ['pct template 900 killed', 'cmd=pct,op=template,vmid=900,mode=crash,times=1'],
  ['pct shutdown 900 before templating killed', 'cmd=pct,op=shutdown,vmid=900,mode=crash,times=1'],
  ['pct set 101 killed', 'cmd=pct,op=set,vmid=101,mode=crash,times=1'],
  ['pct start 101 killed', 'cmd=pct,op=start,vmid=101,mode=crash,times=1'],
  ['pct snapshot 101 killed (snapstate: prepare)', 'cmd=pct,op=snapshot,vmid=101,mode=crash,times=1'],
  ['pct resize 103 killed', 'cmd=pct,op=resize,vmid=103,mode=crash,times=1'],
  ['pct exec of a feature in 102 killed', 'cmd=pct,op=exec,vmid=102,mode=crash,times=1'],
  ['qm create 9000 killed', 'cmd=qm,op=create,vmid=9000,mode=crash,times=1'],
  ['qm set 9000 (cloud-init config) killed', 'cmd=qm,op=set,vmid=9000,mode=crash,times=1'],
  ['qm template 9000 killed', 'cmd=qm,op=template,vmid=9000,mode=crash,times=1'],
  ['qm clone 9000 → 1001 killed', 'cmd=qm,op=clone,vmid=1001,mode=crash,times=1'],
  ['qm resize 1001 killed', 'cmd=qm,op=resize,vmid=1001,mode=crash,times=1'],
  ['pct create 900 fails', 'cmd=pct,op=create,vmid=900,times=1'],
  ['pct clone 900 → 102 fails', 'cmd=pct,op=clone,vmid=102,times=1'],
  ['pct template 900 fails (exit 0, as Proxmox)', 'cmd=pct,op=template,vmid=900,times=1'],
  ['qm set 9000 (cloud-init config) fails', 'cmd=qm,op=set,vmid=9000,times=1'],
  ['qm template 9000 fails (exit 0, as Proxmox)', 'cmd=qm,op=template,vmid=9000,times=1'],
  ['qm clone 9000 → 1001 fails', 'cmd=qm,op=clone,vmid=1001,times=1'],
];

const started = Date.now();
const probe = project(FIXTURE, 'phoenix-crash-probe-');
const fleet = await declared(probe.dir);
probe.remove();
let done = 0;
const results = await pool(POINTS, PARALLEL, async ([what, faults], i) => {
  const r = await faultRun({
    seed: i + 1,
    label: `point-${i + 1}`,
    fleet,
    fixture: FIXTURE,
    faults,
    maxReruns: 3,
  });
  done++;
  const ok = r.converged && !r.replacements.length && !r.foreignTouched;
  process.stdout.write(
    `${ok ? 'ok  ' : 'FAIL'} ${what} (${done}/${POINTS.length}): fired ${r.injected ?? '?'}, locks after [${(r.locksAfterFault ?? []).join(' ')}], ` +
      `re-runs ${r.reruns ?? '-'}, recoveries ${r.recoveries.length}, replaced ${r.replacements.length}` +
      `${r.recoveryMessages?.length ? `, said: ${r.recoveryMessages[0]}` : ''}` +
      `${r.problems.length ? `, problems: ${r.problems.join('; ')} (${r.dir})` : ''}\n`,
  );
  return { what, ...r, ok };
});

const summary = {
  points: results.length,
  recovered: results.filter((r) => r.ok).length,
  guestsLostOrReplaced: results.reduce((a, r) => a + r.replacements.length, 0),
  foreignGuestTouched: results.filter((r) => r.foreignTouched).length,
  minutes: Math.round((Date.now() - started) / 600) / 100,
  date: new Date().toISOString(),
};
console.log(JSON.stringify(summary, null, 2));
if (OUT) writeFileSync(OUT, `${JSON.stringify({ summary, results }, null, 2)}\n`);
if (WRITE) {
  writeBlock(
    path.resolve(WRITE),
    'crash-points',
    [
      `Latest run: ${summary.date}, ${summary.minutes} min, fixture \`${path.relative(ROOT, FIXTURE)}\`: **${summary.recovered}/${summary.points} recovered**, ${summary.guestsLostOrReplaced} guests lost or replaced, foreign CT ${FOREIGN} touched ${summary.foreignGuestTouched} times.`,
      '',
      '| hit | `lock:` lines left | re-runs to converge | recovered | what Phoenix said / what went wrong |',
      '| --- | --- | --- | --- | --- |',
      ...results.map(
        (r) =>
          `| ${r.what} | ${(r.locksAfterFault ?? []).join(' ') || '—'} | ${r.reruns ?? 'never (3 tried)'} | ${r.ok ? 'yes' : '**no**'} | ${
            r.ok
              ? (r.recoveryMessages ?? []).slice(0, 1).join('') || '—'
              : r.problems.join('; ').replaceAll('|', '\\|')
          } |`,
      ),
    ].join('\n'),
  );
}
process.exitCode = summary.recovered === summary.points ? 0 : 1;
