// The simulator's own contract: schema validation, call log, fault injection, exec/push records,
// `phoenix sim`, ensureSimHost.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFaults } from '../../src/sim/faults.js';
import { ensureSimHost } from '../../src/sim/init.js';
import { LATENCY_S } from '../../src/sim/latency.js';
import { BIN, cleanupSims, ctTemplate, makeSim, PHOENIX } from './helpers.js';

afterAll(cleanupSims);

describe('argument validation (official schema)', () => {
  it('rejects an unknown option the way PVE getopt does', () => {
    const sim = makeSim();
    const r = sim.run('pct', ['create', '100', 'local:vztmpl/x.tar.zst', '--hostnam3', 'x']);
    expect(r.code).toBe(255);
    expect(r.stderr).toBe(
      'Unknown option: hostnam3\n400 unable to parse option\npct create <vmid> <ostemplate> [OPTIONS]\n',
    );
  });

  it('rejects out-of-range and badly formatted values with 400 Parameter verification failed.', () => {
    const sim = makeSim();
    ctTemplate(sim);
    const range = sim.run('pct', ['set', '900', '--memory', '8', '--cores', '9000']);
    expect(range.code).toBe(255);
    expect(range.stderr).toBe(
      '400 Parameter verification failed.\ncores: value must have a maximum value of 8192\nmemory: value must have a minimum value of 16\npct set <vmid> [OPTIONS]\n',
    );
    const vmid = sim.run('pct', ['status', '99']);
    expect(vmid.stderr).toContain('vmid: invalid format - value does not look like a valid VM ID');
    const net = sim.run('pct', ['set', '900', '--net0', 'bridge=vmbr0']);
    expect(net.stderr).toContain(
      'net0: invalid format - format error\nnet0.name: property is missing and it is not optional',
    );
    const bool = sim.run('pct', ['set', '900', '--onboot', 'maybe']);
    expect(bool.stderr).toBe('400 unable to parse boolean option\npct set <vmid> [OPTIONS]\n');
    const ip = sim.run('qm', ['set', '9000', '--ipconfig0', 'ip=10.0.0.300/24']);
    expect(ip.stderr).toContain(
      'ipconfig0: invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration',
    );
    const enumErr = sim.run('pvesh', ['get', '/cluster/resources', '--type', 'vms']);
    expect(enumErr.stderr).toContain(
      "type: value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'",
    );
  });

  it('checks argument counts and accepts -opt, --opt=value, booleans without value and abbreviations', () => {
    const sim = makeSim();
    ctTemplate(sim);
    expect(sim.run('pct', ['clone', '900']).stderr).toBe(
      '400 not enough arguments\npct clone <vmid> <newid> [OPTIONS]\n',
    );
    expect(sim.run('pct', ['status', '900', '901']).stderr).toBe(
      '400 too many arguments\npct status <vmid> [OPTIONS]\n',
    );
    expect(sim.run('pct', ['clone', '900', '103', '-hostname', 'a', '--full']).code).toBe(0);
    expect(sim.run('pct', ['set', '103', '--cores=3', '--onboot']).code).toBe(0);
    expect(sim.conf('lxc', 103)).toMatch(/cores: 3\n[\s\S]*onboot: 1\n/);
    expect(sim.run('pct', ['set', '103', '--memo', '1024']).code).toBe(0);
    expect(sim.conf('lxc', 103)).toContain('memory: 1024\n');
    expect(sim.run('pct', ['frobnicate']).stderr).toContain("ERROR: unknown command 'pct frobnicate'");
  });
});

describe('qm guest exec --pass-stdin (qemu-server CLI/qm.pm exec, Agent.pm qemu_exec)', () => {
  it('forwards stdin to the guest command: recorded, matchable by exec rules, limited to 1 MiB', () => {
    const sim = makeSim({ PHOENIX_SIM_AGENT_DELAY: '0' });
    expect(sim.run('qm', ['create', '201', '--name', 'web', '--agent', '1']).code).toBe(0);
    expect(sim.run('qm', ['start', '201']).code).toBe(0);
    writeFileSync(
      join(sim.root, 'sim/exec-rules.json'),
      JSON.stringify([{ vmid: 201, match: '^bash -s$', matchStdin: 'exit 3', stdout: 'hi\n', exit: 3 }]),
    );
    const exec = (args: string[], input: string | Buffer) => {
      const r = spawnSync(join(BIN, 'qm'), ['guest', 'exec', '201', ...args], { env: sim.env, input });
      return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    const script = 'echo hi\nexit 3\n';
    expect(exec(['--pass-stdin', '1', '--', 'bash', '-s'], script)).toEqual({
      code: 0,
      stdout: '{\n   "exitcode" : 3,\n   "exited" : 1,\n   "out-data" : "hi\\n"\n}\n',
      stderr: '',
    });
    // Without --pass-stdin the input is not read; the rule (which wants it) does not match.
    expect(exec(['--', 'bash', '-s'], script).stdout).toBe('{\n   "exitcode" : 0,\n   "exited" : 1\n}\n');
    const log = readFileSync(join(sim.root, 'sim/guests/201/exec.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(log[0]!)).toMatchObject({
      via: 'qm guest exec',
      cmd: ['bash', '-s'],
      stdin: script,
      exit: 3,
    });
    expect(JSON.parse(log[1]!).stdin).toBeUndefined();
    expect(exec(['--pass-stdin', '1', '--', 'bash', '-s'], Buffer.alloc(1024 * 1024, 'a')).code).toBe(0);
    expect(exec(['--pass-stdin', '1', '--', 'cat'], Buffer.alloc(1024 * 1024 + 1, 'a'))).toEqual({
      code: 255,
      stdout: '',
      stderr: "'input-data' (STDIN) is limited to 1 MiB, aborting\n",
    });
    expect(exec([], '')).toMatchObject({ code: 255, stderr: 'command or input-data (or both) required\n' });
    expect(exec(['--synchronous', '0', '--timeout', '5', '--', 'true'], '').stderr).toBe(
      "400 Parameter verification failed.\nsynchronous: needs to be set for 'timeout'\nqm guest exec <vmid> [<extra-args>] [OPTIONS]\n",
    );
  });
});

describe('requires (check_object)', () => {
  it('rejects a key given without the key it requires, in property strings and among parameters', () => {
    const sim = makeSim();
    expect(sim.run('qm', ['create', '100', '--name', 'a']).code).toBe(0);
    const gw = sim.run('qm', ['set', '100', '--ipconfig0', 'gw=10.0.0.1']);
    expect(gw.code).toBe(255);
    expect(gw.stderr).toContain(
      "ipconfig0: invalid format - format error\nipconfig0.ip: missing property - 'ipconfig0.gw' requires this property\n",
    );
    expect(sim.run('qm', ['set', '100', '--ipconfig0', 'ip=10.0.0.5/24,gw=10.0.0.1']).code).toBe(0);
    const force = sim.run('qm', ['set', '100', '--force', '1', '--name', 'b']);
    expect(force.stderr).toBe(
      "400 Parameter verification failed.\ndelete: missing property - 'force' requires this property\nqm set <vmid> [OPTIONS]\n",
    );
  });
});

describe('qemu netN forms (qemu-server $net_fmt: model is the default key, <model>=<mac> an alias)', () => {
  it('accepts <model>=<mac>, model=/macaddr= and a bare model, and writes <model>=<mac>', () => {
    const sim = makeSim();
    expect(sim.run('qm', ['create', '100', '--name', 'a', '--net0', 'virtio,bridge=vmbr0']).code).toBe(0);
    const forms: Array<[string, string]> = [
      ['virtio=02:00:00:00:07:01,bridge=vmbr0', 'virtio=02:00:00:00:07:01,bridge=vmbr0'],
      [
        'model=e1000,macaddr=02:00:00:00:07:02,bridge=vmbr0,firewall=yes',
        'e1000=02:00:00:00:07:02,bridge=vmbr0,firewall=1',
      ],
      ['vmxnet3,macaddr=02:00:00:00:07:03,tag=5', 'vmxnet3=02:00:00:00:07:03,tag=5'],
    ];
    for (const [i, [given, written]] of forms.entries()) {
      const r = sim.run('qm', ['set', '100', `--net${i}`, given]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(sim.conf('qemu', 100)).toContain(`net${i}: ${written}\n`);
    }
  });

  it('rejects what parse_property_string rejects, with its message', () => {
    const sim = makeSim();
    expect(sim.run('qm', ['create', '100', '--name', 'a']).code).toBe(0);
    const cases: Array<[string, string]> = [
      [
        'virtio=03:00:00:00:07:01',
        'net0.macaddr: invalid format - value does not look like a valid unicast MAC address',
      ],
      [
        'model=virtio,virtio=02:00:00:00:07:01',
        "net0: invalid format - key alias 'model' is already defined",
      ],
      [
        'virtio=02:00:00:00:07:01,model=e1000',
        'net0: invalid format - duplicate key in comma-separated list property: model',
      ],
      ['macaddr=02:00:00:00:07:01,bridge=vmbr0', 'net0.model: property is missing and it is not optional'],
      ['virtio,foo=1', 'net0: invalid format - invalid key in comma-separated list property: foo'],
    ];
    for (const [given, msg] of cases) {
      const r = sim.run('qm', ['set', '100', '--net0', given]);
      expect(r.code).toBe(255);
      expect(r.stderr).toContain(msg);
    }
    expect(sim.conf('qemu', 100)).not.toContain('net0');
  });
});

describe('call log', () => {
  it('appends one JSON line per call with command, arguments, exit code and times', () => {
    const sim = makeSim();
    sim.run('pct', ['list']);
    sim.run('pct', ['status', '123']);
    sim.run('pvesh', ['get', '/cluster/resources', '--output-format', 'json']);
    const calls = sim.calls();
    expect(calls.map((c) => [c.cmd, c.args, c.exit])).toEqual([
      ['pct', ['list'], 0],
      ['pct', ['status', '123'], 255],
      ['pvesh', ['get', '/cluster/resources', '--output-format', 'json'], 0],
    ]);
    for (const c of calls) expect(c.end).toBeGreaterThanOrEqual(c.start);
  });
});

describe('fault injection', () => {
  it('parses the grammar and reports bad fields', () => {
    const ok = parseFaults('seed=42,p=0.05;op=clone:vmid=103:p=1:mode=crash;cmd=qm:op=start:times=2:after=1');
    expect(ok.ok && ok.value.seed).toBe(42);
    expect(ok.ok && ok.value.rules).toHaveLength(3);
    expect(parseFaults('op=clone:p=2')).toEqual({
      ok: false,
      error: "PHOENIX_SIM_FAULTS: p must be between 0 and 1, got '2'",
    });
    const sim = makeSim({ PHOENIX_SIM_FAULTS: 'bogus' });
    expect(sim.run('pct', ['list'])).toMatchObject({
      code: 2,
      stderr: "PHOENIX_SIM_FAULTS: bad field 'bogus' (expected key=value)\n",
    });
  });

  it('is deterministic for a seed and call sequence', () => {
    const pattern = (): string => {
      const sim = makeSim({ PHOENIX_SIM_FAULTS: 'seed=7,op=exec,p=0.5' });
      ctTemplate(sim);
      sim.run('pct', ['clone', '900', '103']);
      sim.run('pct', ['start', '103']);
      return Array.from({ length: 12 }, () => sim.run('pct', ['exec', '103', '--', 'true']).code).join('');
    };
    const a = pattern();
    expect(a).toMatch(/0/);
    expect(a).toMatch(/1/);
    expect(pattern()).toBe(a);
  });

  it('fails a clone like Proxmox: the new CT is removed, the source unlocked; times= limits it', () => {
    const sim = makeSim({ PHOENIX_SIM_FAULTS: 'op=clone:vmid=103:times=1:msg=rsync failed' });
    ctTemplate(sim);
    const r = sim.run('pct', ['clone', '900', '103']);
    expect(r).toMatchObject({ code: 255, stderr: 'clone failed: rsync failed\n' });
    expect(existsSync(join(sim.root, 'etc/pve/nodes/pve/lxc/103.conf'))).toBe(false);
    expect(sim.conf('lxc', 900)).not.toContain('lock:');
    expect(sim.run('pvesm', ['list', 'local-lvm']).stdout).not.toContain('vm-103-disk-0');
    expect(sim.run('pct', ['clone', '900', '103']).code).toBe(0);
  });

  it('crashes a create mid-task, leaving lock: create', () => {
    const sim = makeSim({ PHOENIX_SIM_FAULTS: 'op=create:mode=crash' });
    const r = sim.run('pct', [
      'create',
      '100',
      'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
      '--rootfs',
      'local-lvm:8',
    ]);
    expect(r.signal).toBe('SIGKILL');
    expect(sim.conf('lxc', 100)).toBe('lock: create\n');
  });
});

describe('guests never run anything here', () => {
  it('records pct exec, answers from exec-rules.json, stores pushed files', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    sim.run('pct', ['start', '103']);
    const src = join(sim.root, 'script.sh');
    writeFileSync(src, '#!/bin/sh\necho hi\n');
    expect(sim.run('pct', ['push', '103', src, '/usr/local/bin/setup.sh', '--perms', '755'])).toMatchObject({
      code: 0,
      stderr: '',
    });
    const stored = join(sim.root, 'sim/guests/103/files/usr/local/bin/setup.sh');
    expect(readFileSync(stored, 'utf8')).toBe('#!/bin/sh\necho hi\n');
    const meta = JSON.parse(readFileSync(join(sim.root, 'sim/guests/103/files.json'), 'utf8'));
    expect(meta['/usr/local/bin/setup.sh']).toMatchObject({ perms: '0755', user: 'root', group: 'root' });
    expect(sim.run('pct', ['exec', '103', '--', 'test', '-f', '/usr/local/bin/setup.sh']).code).toBe(0);
    expect(sim.run('pct', ['exec', '103', '--', 'test', '-f', '/nope']).code).toBe(1);
    writeFileSync(
      join(sim.root, 'sim/exec-rules.json'),
      JSON.stringify([{ match: '^systemctl is-active', stdout: 'inactive\n', exit: 3 }]),
    );
    expect(sim.run('pct', ['exec', '103', '--', 'systemctl', 'is-active', 'docker'])).toMatchObject({
      code: 3,
      stdout: 'inactive\n',
    });
    expect(sim.run('pct', ['exec', '103', '--', 'bash', '-c', 'rm -rf /'])).toMatchObject({
      code: 0,
      stdout: '',
    });
    const log = readFileSync(join(sim.root, 'sim/guests/103/exec.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ via: 'pct exec', cmd: ['bash', '-c', 'rm -rf /'], exit: 0 });
  });
});

describe('phoenix sim and ensureSimHost', () => {
  it('init, show and reset the simulated host', () => {
    const sim = makeSim();
    const run = (...args: string[]) =>
      spawnSync('node', [PHOENIX, 'sim', ...args], { env: sim.env, encoding: 'utf8' });
    expect(run('init').stdout).toContain('Initialized simulated host');
    ctTemplate(sim);
    const show = JSON.parse(run('show', '--json').stdout);
    expect(show.guests).toEqual([
      { vmid: 900, kind: 'lxc', name: 'tmpl', status: 'stopped', template: true },
    ]);
    expect(show.storages.map((s: { id: string }) => s.id)).toEqual(
      expect.arrayContaining([
        'local',
        'local-lvm',
        'local-zfs',
        'quickOS-lxc-disks',
        'quickOS-vm-disks',
        'fastData-shared-iso',
      ]),
    );
    expect(run('reset').status).toBe(0);
    expect(JSON.parse(run('show', '--json').stdout).guests).toEqual([]);
    const lists = sim.run('pvesm', ['list', 'local']).stdout;
    expect(lists).toContain('local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst');
    expect(lists).toContain('local:import/noble-server-cloudimg-amd64.qcow2');
  });

  it('adds what a config needs, or only reports it in strict mode', () => {
    const sim = makeSim();
    const needs = {
      storages: [
        { id: 'tank-ct', type: 'zfspool', content: ['rootdir', 'images'], pool: 'tank/ct' },
        { id: 'local', type: 'dir', content: ['vztmpl', 'iso'] },
      ],
      templates: ['local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'],
    };
    expect(ensureSimHost(sim.root, needs, true)).toEqual({
      added: [],
      missing: [
        "storage 'tank-ct' (zfspool)",
        'template local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
      ],
    });
    expect(ensureSimHost(sim.root, needs, false)).toEqual({
      added: ["storage 'tank-ct' (zfspool)", 'template local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'],
      missing: [],
    });
    expect(readFileSync(join(sim.root, 'etc/pve/storage.cfg'), 'utf8')).toContain(
      'zfspool: tank-ct\n\tpool tank/ct\n\tcontent rootdir,images\n',
    );
    expect(
      sim.run('pct', [
        'create',
        '100',
        'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        '--rootfs',
        'tank-ct:4',
      ]).code,
    ).toBe(0);
    expect(ensureSimHost(sim.root, needs, false)).toEqual({ added: [], missing: [] });
  });

  it('exports the latency table benchmarks use', () => {
    expect(LATENCY_S.processStart).toBeGreaterThan(0);
    expect(LATENCY_S.pvestatdPeriod).toBe(10);
  });
});

describe('fake host tools', () => {
  it('zfs creates and lists datasets under the zfspool storages; chown records owners', () => {
    const sim = makeSim();
    expect(sim.run('zfs', ['create', '-o', 'compression=lz4', 'quickOS/shared-prod-data']).code).toBe(0);
    expect(sim.run('zfs', ['create', 'quickOS/shared-prod-data'])).toMatchObject({
      code: 1,
      stderr: "cannot create 'quickOS/shared-prod-data': dataset already exists\n",
    });
    expect(sim.run('zfs', ['create', 'tank/x/y']).stderr).toBe(
      "cannot create 'tank/x/y': parent does not exist\n",
    );
    expect(sim.run('zfs', ['list', '-H', '-o', 'name,compression', 'quickOS/shared-prod-data']).stdout).toBe(
      'quickOS/shared-prod-data\tlz4\n',
    );
    expect(existsSync(join(sim.root, 'quickOS/shared-prod-data'))).toBe(true);
    ctTemplate(sim, 900, 'quickOS-lxc-disks');
    expect(sim.run('zfs', ['list', '-H', '-o', 'name']).stdout).toContain(
      'quickOS/lxc-disks/basevol-900-disk-0\n',
    );
    expect(sim.run('chown', ['-R', '101000:101000', '/quickOS/shared-prod-data']).code).toBe(0);
    expect(sim.run('chown', ['1000', '/nope'])).toMatchObject({
      code: 1,
      stderr: "chown: cannot access '/nope': No such file or directory\n",
    });
    expect(JSON.parse(readFileSync(join(sim.root, 'sim/owners.json'), 'utf8'))).toEqual({
      '/quickOS/shared-prod-data': { user: '101000', group: '101000', recursive: true },
    });
    expect(sim.calls().filter((c) => c.cmd === 'zfs')).toHaveLength(5);
  });
});

describe('descriptions', () => {
  it('are stored as escaped # lines and read back like Proxmox (LXC keeps a trailing newline)', () => {
    const sim = makeSim();
    ctTemplate(sim);
    sim.run('pct', ['clone', '900', '103']);
    expect(sim.run('pct', ['set', '103', '--description', 'Notes: 100%\nsecond line']).code).toBe(0);
    expect(sim.conf('lxc', 103).startsWith('#Notes%3A 100%25\n#second line\narch: amd64\n')).toBe(true);
    expect(sim.run('pct', ['config', '103']).stdout).toContain(
      'description: Notes%3A 100%25%0Asecond line%0A\n',
    );
    sim.run('qm', ['create', '200', '--description', 'vm: notes']);
    expect(sim.conf('qemu', 200).startsWith('#vm%3A notes\n')).toBe(true);
    expect(sim.run('qm', ['config', '200']).stdout).toContain('description: vm%3A notes\n');
  });
});
