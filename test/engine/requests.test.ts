// A fleet of LXC and VM guests with idmaps, GPUs, bind mounts, firewall rules and snapshots on the
// simulator: what a build writes, and how drift, refusals and interrupted tasks are handled.
// Builds and plans run in process (inproc.ts); explain, status and the dry run's refusal run
// through the real CLI, whose output they are.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeStamps } from '../../src/runner/stamps.js';
import { type Project, project, staleTargets } from './helpers.js';

const CONF = '/etc/pve/nodes/pve/lxc/300.conf';

function hostPath(p: Project, file: string): string {
  return path.join(p.simRoot, file);
}

function mainSection(text: string): string {
  return text.split(/\n\[/)[0] ?? '';
}

function idmapLines(p: Project): string[] {
  return mainSection(readFileSync(hostPath(p, CONF), 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('lxc.idmap:'))
    .map((l) => l.slice('lxc.idmap:'.length).trim());
}

function editConf(p: Project, edit: (main: string) => string): void {
  const file = hostPath(p, CONF);
  const text = readFileSync(file, 'utf8');
  const main = mainSection(text);
  writeFileSync(file, edit(main) + text.slice(main.length));
}

function editConfig(p: Project, from: string, to: string): void {
  const file = path.join(p.dir, 'phoenix.config.ts');
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`fixture has no ${from}`);
  writeFileSync(file, text.replace(from, to));
}

const mutating = (c: { cmd: string; args: string[] }) =>
  ['pct', 'qm'].includes(c.cmd) && !['status', 'config', 'guest', 'list'].includes(c.args[0] ?? '');

/** The mutating pct/qm calls since the call log held `before` entries. */
const mutatingSince = (p: Project, before: number) => p.calls().slice(before).filter(mutating);

describe('a built fleet with idmaps, GPUs, bind mounts, firewall rules and snapshots', {
  timeout: 300_000,
}, () => {
  let p: Project;
  beforeAll(async () => {
    p = project('requests');
    // The guest agent answers 2 s after `qm start`: provisioning must wait for it.
    const r = await p.seed([], {}, { PHOENIX_SIM_AGENT_DELAY: '2' });
    const agent = r.events.filter((e) => e.target === 'vm/7000:agent').map((e) => e.type);
    expect(agent).toContain('done');
    expect(agent).not.toContain('fresh');
  });

  it('a gid-only idmap keeps the full default uid range', () => {
    expect(idmapLines(p).sort()).toEqual(
      ['u 0 100000 65536', 'g 0 100000 33', 'g 33 33 1', 'g 34 100034 65502'].sort(),
    );
  });

  it('GPUs are passed through as device entries, not raw cgroup lines', () => {
    const main = mainSection(readFileSync(hostPath(p, CONF), 'utf8'));
    expect(main.split('\n').filter((l) => /^dev\d+:/.test(l))).toEqual([
      'dev0: /dev/nvidia0',
      'dev1: /dev/nvidiactl',
      'dev2: /dev/nvidia-uvm',
      'dev3: /dev/nvidia-uvm-tools',
      'dev4: /dev/nvidia-caps/nvidia-cap1',
      'dev5: /dev/nvidia-caps/nvidia-cap2',
    ]);
    expect(main).not.toMatch(/lxc\.cgroup2\.devices\.allow|lxc\.mount\.entry/);
  });

  it('a VM template from a cloud image boots, waits for cloud-init, is cleaned, then converted', () => {
    const calls = p
      .calls()
      .filter(
        (c) => (c.cmd === 'qm' && c.args[1] === '7100') || (c.args[0] === 'guest' && c.args[2] === '7100'),
      )
      .map((c) => c.args.join(' '));
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    expect(at(/^start 7100/)).toBeGreaterThanOrEqual(0);
    expect(at(/^guest exec 7100 .*cloud-init status --wait/)).toBeGreaterThan(at(/^start 7100/));
    expect(at(/^guest exec 7100 .*cloud-init clean/)).toBeGreaterThan(at(/cloud-init status --wait/));
    expect(at(/^template 7100/)).toBeGreaterThan(at(/cloud-init clean/));
    expect(readFileSync(hostPath(p, '/etc/pve/nodes/pve/qemu-server/7100.conf'), 'utf8')).toMatch(
      /^template: 1$/m,
    );
  });

  it('VM scripts run through the agent with the text on stdin, never in a command line', () => {
    const script = readFileSync(path.join(p.dir, 'features', 'base.sh'), 'utf8').trim();
    const exec = p.calls().filter((c) => c.cmd === 'qm' && c.args[0] === 'guest' && c.args[1] === 'exec');
    expect(exec.map((c) => c.args.join(' '))).toContain(
      'guest exec 7000 --timeout 3600 --pass-stdin 1 -- bash -s --',
    );
    expect(p.calls().filter((c) => c.args.some((a) => a.includes(script)))).toEqual([]);
  });

  it('the agent target is stale when `running` starts the VM in this run', async () => {
    expect(p.simCmd('qm', ['stop', '7000']).status).toBe(0);
    const plan = await (await p.inproc()).plan(['7000']);
    if (!plan.ok) throw new Error(plan.problems.join('; '));
    const agent = plan.steps.find((s) => s.target === 'vm/7000:agent');
    expect(agent?.reasons.map((r) => r.text).join('\n')).toContain('dependency changed: vm/7000:running');
    const r = await p.seed(['7000'], { force: ['7000:feature:base'] }, { PHOENIX_SIM_AGENT_DELAY: '2' });
    expect(r.events.some((e) => e.target === 'vm/7000:agent' && e.type === 'done')).toBe(true);
  });

  it('shrinking a disk is a plan error, for CTs and VMs, in --dry-run and build', async () => {
    editConfig(p, "storage: 'local-lvm', sizeGb: 8", "storage: 'local-lvm', sizeGb: 4");
    editConfig(p, 'diskGb: 12', 'diskGb: 10');
    const before = p.calls().length;
    const dry = p.run(['build', '--sim', '--dry-run']);
    expect(dry.status).toBe(1);
    expect(dry.stderr).toMatch(/guest 300: rootfs is 8G on the host, declared 4G: .*cannot shrink/);
    expect(dry.stderr).toMatch(/guest 7000: disk scsi0 is 12G on the host, declared 10G: .*cannot shrink/);
    const build = await (await p.inproc()).build();
    expect(build.ok).toBe(false);
    expect(build.problems.join('\n')).toMatch(/shrink/);
    expect(mutatingSince(p, before)).toEqual([]);
    editConfig(p, "storage: 'local-lvm', sizeGb: 4", "storage: 'local-lvm', sizeGb: 8");
    editConfig(p, 'diskGb: 10', 'diskGb: 12');
    expect(await staleTargets(p)).toEqual([]);
  });

  it('a hand-changed owner of a bind-mounted host folder is drift (one stat per read)', async () => {
    expect(p.simCmd('chown', ['5:5', '--', '/srv/phoenix/300/logs']).status).toBe(0);
    const before = p.calls().length;
    const ex = p.run(['explain', '300:hostdirs', '--sim']);
    expect(ex.stdout).toContain('host folder /srv/phoenix/300/logs: 5:5 → 100033:33');
    expect(
      p
        .calls()
        .slice(before)
        .filter((c) => c.cmd === 'stat'),
    ).toHaveLength(1);
    await p.seed(['300']);
    expect(await staleTargets(p)).toEqual([]);
  });

  it('a hand-edited firewall rule shows old and new rule; the rewrite counts as a host write', () => {
    const fw = hostPath(p, '/etc/pve/firewall/300.fw');
    const declared = readFileSync(fw, 'utf8');
    writeFileSync(fw, declared.replace('-dport 443', '-dport 8443'));
    const ex = p.run(['explain', '300:config', '--sim']);
    expect(ex.stdout).toContain(
      'firewall rule 0: IN ACCEPT -p tcp -dport 8443 # https → IN ACCEPT -p tcp -dport 443 # https',
    );
    const b = p.run(['build', '300', '--sim']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/[1-9]\d* host writes/);
    expect(readFileSync(fw, 'utf8')).toBe(declared);
  });

  it('the idmap is rewritten with the CT stopped, then started again and verified', async () => {
    editConf(p, (m) => m.replace('lxc.idmap: u 0 100000 65536\n', ''));
    const before = p.calls().length;
    await p.seed(['300']);
    const calls = mutatingSince(p, before).map((c) => `${c.cmd} ${c.args.join(' ')}`);
    expect(calls).toEqual(['pct shutdown 300 --timeout 60 --forceStop 1', 'pct start 300']);
    expect(idmapLines(p)).toContain('u 0 100000 65536');
  });

  it('a conf file with a `lock:` is not edited', async () => {
    expect(p.simCmd('pct', ['stop', '300']).status).toBe(0);
    editConf(p, (m) =>
      m.replace('lxc.apparmor.profile: unconfined\n', '').replace(/^(arch:.*)$/m, '$1\nlock: backup'),
    );
    const locked = readFileSync(hostPath(p, CONF), 'utf8');
    const b = await (await p.inproc()).build(['300:config']);
    expect(b.ok).toBe(false);
    expect(JSON.stringify(b.events.filter((e) => e.type === 'fail'))).toContain('CT 300 is locked (backup)');
    expect(readFileSync(hostPath(p, CONF), 'utf8')).toBe(locked);
    editConf(p, (m) => m.replace('lock: backup\n', ''));
    await p.seed(['300']);
    expect(mainSection(readFileSync(hostPath(p, CONF), 'utf8'))).toContain(
      'lxc.apparmor.profile: unconfined',
    );
  });

  it('a replace says what would be lost, in the step and in the refusal', async () => {
    const forced = await (await p.inproc()).plan(['300'], { force: ['300:exists'], allowReplace: true });
    if (!forced.ok) throw new Error(forced.problems.join('; '));
    expect(forced.steps.map((s) => s.step).join('\n')).toMatch(
      /destroy 300 \(loses: rootfs local-lvm:vm-300-disk-0 \(8G\)\), then pct create/,
    );
    editConfig(p, 'ubuntu-24.04-standard_24.04-2_amd64', 'debian-12-standard_12.7-1_amd64');
    const r = p.run(['build', '300', '--sim', '--dry-run']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /needs to replace guest 300 .*; it would lose: rootfs local-lvm:vm-300-disk-0 \(8G\)/,
    );
    editConfig(p, 'debian-12-standard_12.7-1_amd64', 'ubuntu-24.04-standard_24.04-2_amd64');
  });

  it('a snapshot whose task was killed is unlocked, removed and taken again', async () => {
    // Proxmox cannot snapshot a CT with a bind mount: this one loses its mount first.
    editConfig(
      p,
      "      mounts: [{ hostPath: '/srv/phoenix/300/logs', path: '/var/log/app', owner: { uid: 33, gid: 33 } }],\n",
      '',
    );
    editConfig(
      p,
      '      gpus: [0],',
      "      gpus: [0],\n      snapshots: [{ name: 'configured', after: 'config' }],",
    );
    await p.seed(['300']);
    // What a killed `pct snapshot` leaves: the section with `snapstate`, the CT locked.
    const file = hostPath(p, CONF);
    const text = readFileSync(file, 'utf8');
    const main = mainSection(text);
    writeFileSync(
      file,
      `${main.replace(/\n*$/, '\nlock: snapshot\n')}${text.slice(main.length).replace('[configured]\n', '[configured]\nsnapstate: prepare\n')}`,
    );
    expect(p.run(['explain', '300:snapshot:configured', '--sim']).stdout).toContain(
      "snapshot 'configured' was interrupted (snapstate: prepare)",
    );
    const before = p.calls().length;
    await p.seed(['300']);
    expect(
      mutatingSince(p, before)
        .map((c) => `${c.cmd} ${c.args.join(' ')}`)
        .filter((c) => !c.includes('--description')),
    ).toEqual(['pct unlock 300', 'pct delsnapshot 300 configured --force 1', 'pct snapshot 300 configured']);
    const after = readFileSync(file, 'utf8');
    expect(after).not.toMatch(/^lock:|^snapstate:/m);
  });
});

describe('a VM template is verified by its base volumes', { timeout: 300_000 }, () => {
  it('a failed `qm template` task (template: 1, plain disk) is finished, not trusted', async () => {
    const p = project('requests');
    const file = hostPath(p, '/etc/pve/nodes/pve/qemu-server/7100.conf');
    const failed = await (
      await p.inproc({ PHOENIX_SIM_FAULTS: 'cmd=qm,op=template,vmid=7100,times=1' })
    ).build(['7100']);
    expect(failed.ok).toBe(false);
    expect(JSON.stringify(failed.events.filter((e) => e.type === 'fail'))).toContain(
      'disks scsi0 are not base volumes',
    );
    expect(readFileSync(file, 'utf8')).toMatch(/^template: 1$/m);
    const ex = p.run(['explain', '7100:template', '--sim']);
    expect(ex.stdout).toContain('disks not converted to base volumes: scsi0');
    const before = p.calls().length;
    await p.seed(['7100']);
    const calls = mutatingSince(p, before).map((c) => `${c.cmd} ${c.args.join(' ')}`);
    expect(calls).toEqual(['qm template 7100 --disk scsi0']);
    expect(readFileSync(file, 'utf8')).toMatch(/^scsi0: local-lvm:base-7100-disk-0/m);
  });
});

describe('a VM left without its boot disk is re-created', { timeout: 300_000 }, () => {
  it('a VM Phoenix made without its disk (an earlier version imported it in a second call) is destroyed and created again', async () => {
    const p = project('requests');
    const empty = await (await p.inproc()).plan(['7100']);
    expect(empty.problems).toEqual([]);
    // What an interrupted three-call creation left: a VM with Phoenix's birth stamp and no disk.
    const made = p.simCmd('qm', [
      'create',
      '7100',
      '--name',
      'half',
      '--description',
      writeStamps('', 7100, { exists: 'older.-' }),
    ]);
    expect(made.status, made.stderr).toBe(0);
    const ex = p.run(['explain', '7100:exists', '--sim']);
    expect(ex.stdout).toContain('half-made: VM 7100 has no boot disk');
    const before = p.calls().length;
    await p.seed(['7100']);
    const calls = mutatingSince(p, before).map((c) => `${c.cmd} ${c.args.slice(0, 2).join(' ')}`);
    expect(calls.slice(0, 2)).toEqual(['qm destroy 7100', 'qm create 7100']);
    const conf = readFileSync(hostPath(p, '/etc/pve/nodes/pve/qemu-server/7100.conf'), 'utf8');
    expect(conf).toMatch(/^scsi0: local-lvm:base-7100-disk-0/m);
  });

  it('a VM is made from its image in one `qm create` (disk import and cloud-init drive included)', async () => {
    const p = project('requests');
    const before = p.calls().length;
    await p.seed(['7100:exists']);
    const calls = mutatingSince(p, before);
    const creating = calls.filter((c) => c.cmd === 'qm' && c.args[1] === '7100');
    expect(creating.map((c) => c.args[0])).toEqual(['create']);
    expect(creating[0]!.args).toEqual(
      expect.arrayContaining([
        '--scsi0',
        'local-lvm:0,import-from=local:import/noble-server-cloudimg-amd64.qcow2',
      ]),
    );
  });
});

describe('clones of a rebuilt template are outdated in status', { timeout: 300_000 }, () => {
  it('reports outdated clones in text and JSON, and not before', async () => {
    const p = project('small');
    await p.seed();
    expect(p.run(['status', '--sim']).stdout).not.toContain('outdated');
    // A changed feature script rebuilds the template (a converted template is replaced).
    const script = path.join(p.dir, 'features', 'base.sh');
    writeFileSync(script, `${readFileSync(script, 'utf8')}\necho v2\n`);
    await p.seed(['900'], { allowReplace: true });
    const st = p.run(['status', '--sim']);
    expect(st.stdout).toMatch(/^103 .*outdated: cloned before 900 was rebuilt/m);
    const json = JSON.parse(p.run(['status', '--sim', '--json']).stdout) as {
      guests: Array<{ vmid: number; outdated: boolean }>;
    };
    expect(json.guests.find((g) => g.vmid === 103)?.outdated).toBe(true);
    expect(json.guests.find((g) => g.vmid === 900)?.outdated).toBe(false);
  });
});
