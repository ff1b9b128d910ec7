// What Phoenix asks of Proxmox, checked against what Proxmox's own code does with it (each case
// names the upstream behaviour). In-process, on hand-made host states and a host that records
// the commands a step issues.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Guest, LxcGuest } from '../../src/dsl/model.js';
import { parseGuestConf, verifySha256Crypt } from '../../src/pve/format/index.js';
import { guestFromText } from '../../src/pve/host.js';
import { emptyHostState, type GuestState, type PowerStatus } from '../../src/pve/state.js';
import { noStamps } from '../../src/runner/stamps.js';
import type { StepContext, StepHost, Target, TargetContext } from '../../src/runner/types.js';
import { DEFAULT_STEP_LIMITS } from '../../src/runner/types.js';
import { lxcConfig } from '../../src/targets/lxc-config.js';
import { mountDrifts } from '../../src/targets/lxc-storage.js';
import { feature } from '../../src/targets/provision.js';
import { expandConfig } from '../../src/targets/registry.js';
import { running } from '../../src/targets/running.js';
import { template } from '../../src/targets/template.js';
import { vmAgent } from '../../src/targets/vm-agent.js';
import { cryptPassword, vmConfig, vmDeclared } from '../../src/targets/vm-config.js';
import { configOf, lxcGuest, vmGuest } from '../fixtures/model.js';

function guestState(g: Guest, text: string, status: PowerStatus): GuestState {
  const gs = guestFromText(g.vmid, g.kind, 'pve', text);
  gs.status = status;
  return gs;
}

function context(g: Guest, gs: GuestState | undefined, guests: Guest[] = [g]): TargetContext {
  const state = emptyHostState();
  state.nodes = ['pve'];
  if (gs) state.guests.set(g.vmid, gs);
  return { config: configOf(guests), guest: g, state, gs, stamps: noStamps() };
}

/** A host that answers like a running guest and records every command it is asked to run. */
function recordingStep(ctx: TargetContext, answers: (cmd: string, args: string[]) => string = () => '') {
  const calls: string[] = [];
  const inputs: Array<string | undefined> = [];
  const result = (cmd: string, args: string[]) => ({ exitCode: 0, stdout: answers(cmd, args), stderr: '' });
  const host: StepHost = {
    run: async (cmd, args, opts) => {
      calls.push(`${cmd} ${args.join(' ')}`);
      inputs.push(opts?.input);
      return result(cmd, args);
    },
    read: async (cmd, args) => {
      if (args[0] === 'status') return { exitCode: 0, stdout: 'status: running\n', stderr: '' };
      calls.push(`${cmd} ${args.join(' ')}`);
      return result(cmd, args);
    },
    readFile: async () => undefined,
    writeFile: async () => {},
    removeFile: async () => {},
    mapPath: (p) => p,
    sleep: async () => {},
    readGuest: async () => ctx.gs,
    scriptPath: (relative) => `/cfg/${relative}`,
    stage: async (local) => local,
  };
  const step: StepContext = { ...ctx, host, limits: DEFAULT_STEP_LIMITS, fingerprint: 'f.-', log: () => {} };
  return { step, calls, inputs };
}

const fieldsOf = (t: Target, ctx: TargetContext) => {
  const obs = t.observe(ctx);
  return obs.kind === 'drift' ? obs.drifts.map((d) => `${d.field}=${d.declared ?? '(delete)'}`) : [];
};

describe('mount points (pve-container LXC/Config.pm:1855-1894: --mpK on a used key allocates a new volume)', () => {
  const g = lxcGuest(101, {
    mounts: [
      { hostPath: '/srv/logs', path: '/var/log/app' },
      { hostPath: '/srv/ssl', path: '/etc/ssl/app', readOnly: true },
    ],
    zfsVolumes: [{ name: 'models', storage: 'tank', sizeGb: 50, path: '/models' }],
  });

  it('keep their keys when another one is added or removed: matched by path, new ones take a free key', () => {
    // On the host: the ssl mount is mp1, the volume mp0, logs not yet there; a removed mount is mp2.
    const host = {
      mp0: 'tank:subvol-101-disk-1,mp=/models,size=50G',
      mp1: '/srv/ssl,mp=/etc/ssl/app,ro=1',
      mp2: '/srv/old,mp=/old',
    };
    const drifts = mountDrifts(g, host).map(
      (d) => `${d.field}: ${d.host ?? '-'} → ${d.declared ?? '(delete)'}`,
    );
    expect(drifts).toEqual(['mp3: - → /srv/logs,mp=/var/log/app', 'mp2: /srv/old,mp=/old → (delete)']);
  });

  it('change in place on their own key when the declaration changes', () => {
    const host = {
      mp0: '/srv/logs,mp=/var/log/app',
      mp1: '/srv/ssl,mp=/etc/ssl/app',
      mp2: 'tank:subvol-101-disk-1,mp=/models,size=50G',
    };
    expect(mountDrifts(g, host).map((d) => `${d.field}=${d.declared}`)).toEqual([
      'mp1=/srv/ssl,mp=/etc/ssl/app,ro=1',
    ]);
  });
});

describe('CT config', () => {
  it('deletes devN entries the config does not declare, so no two name one device (LXC.pm:1897-1903 mknod)', () => {
    // A clone of a two-GPU template that declares one GPU: the template's dev0..dev6 came along.
    const g = lxcGuest(911, { gpus: [0] });
    const devs = [
      '/dev/nvidia0',
      '/dev/nvidia1',
      '/dev/nvidiactl',
      '/dev/nvidia-uvm',
      '/dev/nvidia-uvm-tools',
      '/dev/nvidia-caps/nvidia-cap1',
      '/dev/nvidia-caps/nvidia-cap2',
    ];
    const text = `hostname: g911\ncores: 1\nmemory: 512\nswap: 512\n${devs.map((d, i) => `dev${i}: ${d}`).join('\n')}\n`;
    const t = lxcConfig.of(g);
    const ctx = context(g, guestState(g, text, 'stopped'));
    const obs = t.observe(ctx);
    const shown = t.describe(ctx, obs);
    expect(shown).toContain('--delete dev6');
    expect(shown).toContain('--dev1 /dev/nvidiactl');
  });

  it('compares tags as Proxmox stores them: lower-cased, sorted, without repeats (GuestHelpers.pm:349-378)', () => {
    const g = lxcGuest(102, { tags: ['Phoenix', 'CA', 'ca'] });
    const text = 'hostname: g102\ncores: 1\nmemory: 512\nswap: 512\ntags: ca;phoenix\n';
    const t = lxcConfig.of(g);
    expect(fieldsOf(t, context(g, guestState(g, text, 'stopped')))).toEqual([]);
    const vm = vmGuest(1001, { tags: ['Web', 'a'] });
    expect(vmDeclared(vm).tags).toBe('a;web');
  });

  it('puts firewall=1 on the NICs of a guest whose firewall is enabled (pve-firewall Firewall.pm:4386)', () => {
    const firewall = { enabled: true, rules: [] };
    const ct = lxcGuest(103, { firewall, net: [{ index: 0, name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }] });
    const text =
      'hostname: g103\ncores: 1\nmemory: 512\nswap: 512\nnet0: name=eth0,bridge=vmbr0,hwaddr=02:00:00:00:00:01,ip=dhcp,type=veth\n';
    expect(fieldsOf(lxcConfig.of(ct), context(ct, guestState(ct, text, 'stopped')))).toContain(
      'net0=name=eth0,bridge=vmbr0,firewall=1,ip=dhcp,type=veth',
    );
    const vm = vmGuest(1001, { firewall });
    expect(vmDeclared(vm).net0).toBe('virtio,bridge=vmbr0,firewall=1');
    const vmText =
      'name: vm1001\ncores: 1\nmemory: 512\nagent: 1\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\nciuser: ops\nipconfig0: ip=dhcp\n';
    expect(fieldsOf(vmConfig.of(vm), context(vm, guestState(vm, vmText, 'stopped')))).toContain(
      'net0=virtio,bridge=vmbr0,firewall=1',
    );
  });

  it('restarts a running CT that is renamed: /etc/hostname is rewritten only at start (LXC/Setup/Base.pm:695)', async () => {
    const g = lxcGuest(104, { name: 'new-name' });
    const text = 'hostname: old-name\ncores: 1\nmemory: 512\nswap: 512\n';
    const t = lxcConfig.of(g);
    const ctx = context(g, guestState(g, text, 'running'));
    expect(t.effect(ctx, t.observe(ctx))).toBe('restart');
    const { step, calls } = recordingStep(ctx);
    expect(await t.run(step)).toMatchObject({ status: 'running' });
    expect(calls).toEqual([
      'pct set 104 --hostname new-name',
      'pct shutdown 104 --timeout 60 --forceStop 1',
      'pct start 104',
    ]);
  });
});

describe('template', () => {
  it('shuts a CT the state says runs down without asking its status first', async () => {
    const g = lxcGuest(905, { template: true });
    const ctx = context(g, guestState(g, 'hostname: g905\n', 'running'));
    const { step, calls } = recordingStep(ctx);
    const reads: string[] = [];
    step.host.read = async (cmd, args) => {
      reads.push(`${cmd} ${args.join(' ')}`);
      return { exitCode: 0, stdout: 'status: running\n', stderr: '' };
    };
    step.host.readGuest = async () => guestState(g, 'hostname: g905\ntemplate: 1\n', 'stopped');
    await template.of(g).run(step);
    expect(calls).toEqual(['pct shutdown 905 --timeout 60 --forceStop 1', 'pct template 905']);
    expect(reads).toEqual([]);
  });
});

describe('running', () => {
  it("trusts the start task's exit code (pct.pm:36-40), asking the status only after an HA start request", async () => {
    const g = lxcGuest(104);
    const statusReads: string[] = [];
    const start = async (answer: string, status: string) => {
      const ctx = context(g, guestState(g, 'hostname: g104\n', 'stopped'));
      const { step, calls } = recordingStep(ctx, (_c, args) => (args[0] === 'start' ? answer : ''));
      step.host.read = async (cmd, args) => {
        statusReads.push(`${cmd} ${args.join(' ')}`);
        return { exitCode: 0, stdout: `status: ${status}\n`, stderr: '' };
      };
      await running.of(g).run(step);
      return calls;
    };
    expect(await start('', 'stopped')).toEqual(['pct start 104']);
    expect(statusReads).toEqual([]);
    // An HA-managed guest's task only asks the HA manager (LXC/Status.pm:166-177).
    await expect(start('Requesting HA start for CT 104\n', 'stopped')).rejects.toThrow(
      /status says: status: stopped/,
    );
    expect(statusReads).toEqual(['pct status 104']);
  });

  it('restarts a running VM whose cloud-init changes wait in [special:cloudinit] (Cloudinit.pm:691 has_changes)', async () => {
    const g = vmGuest(1001);
    const text = 'name: vm1001\nipconfig0: ip=10.0.0.9/24\n\n[special:cloudinit]\nipconfig0: ip=dhcp\n';
    const t = running.of(g);
    const ctx = context(g, guestState(g, text, 'running'));
    expect(t.observe(ctx)).toMatchObject({ kind: 'drift' });
    const { step, calls } = recordingStep(ctx);
    await t.run(step);
    // A clean shutdown (then a hard stop only after the timeout), never `qm stop` outright.
    expect(calls).toEqual(['qm shutdown 1001 --timeout 60 --forceStop 1', 'qm start 1001']);
    const done = context(g, guestState(g, 'name: vm1001\nipconfig0: ip=10.0.0.9/24\n', 'running'));
    expect(t.observe(done)).toEqual({ kind: 'ok' });
  });
});

describe('provisioning', () => {
  it('a VM clone waits for cloud-init before its scripts run (ciupgrade defaults to 1: apt runs at first boot)', async () => {
    const g = vmGuest(1002, { cloneFrom: 9000 });
    const ctx = context(g, guestState(g, 'name: vm1002\n', 'running'), [
      vmGuest(9000, { template: true }),
      g,
    ]);
    const { step, calls } = recordingStep(ctx, (_c, args) =>
      args[0] === 'guest' && args[1] === 'exec' ? '{"exitcode":0,"exited":1}' : '',
    );
    await vmAgent.of(g).run(step);
    expect(calls).toEqual([
      'qm guest cmd 1002 ping',
      'qm guest exec 1002 --timeout 900 -- cloud-init status --wait',
    ]);
  });

  it('a CT script reaches bash on stdin in one pct exec (no file in the guest, arguments as argv)', async () => {
    const g = lxcGuest(105, { features: ['base'], featureArgs: ['a b', '$(id)'] });
    const ctx = context(g, guestState(g, 'hostname: g105\n', 'running'));
    ctx.config.features.base = { script: 'package.json', args: ['--x'] };
    const { step, calls, inputs } = recordingStep(ctx);
    step.host.scriptPath = (relative) => `${process.cwd()}/${relative}`;
    await feature.of(g, 'base').run(step);
    // lxc-attach hands pct's stdin to the command (pve-container src/PVE/CLI/pct.pm:238-255).
    expect(calls).toEqual(['pct exec 105 -- bash -s -- a b $(id) --x']);
    expect(inputs).toEqual([readFileSync('package.json', 'utf8')]);
  });

  it('refuses a script over 1 MiB before any host call', async () => {
    const g = lxcGuest(106, { features: ['big'] });
    const ctx = context(g, guestState(g, 'hostname: g106\n', 'running'));
    ctx.config.features.big = { script: 'big.sh' };
    const { step, calls } = recordingStep(ctx);
    const dir = mkdtempSync(path.join(tmpdir(), 'phoenix-big-'));
    writeFileSync(path.join(dir, 'big.sh'), `#${'x'.repeat(1024 * 1024)}\n`);
    step.host.scriptPath = (relative) => path.join(dir, relative);
    await expect(feature.of(g, 'big').run(step)).rejects.toThrow(/over 1 MiB/);
    expect(calls).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the cloud-init password', () => {
  it('leaves Phoenix only as a SHA-256-crypt hash, which qemu-server stores as given (API2/Qemu.pm:2530-2536)', () => {
    const hash = cryptPassword('s3cret word');
    expect(hash).toMatch(/^\$5\$/);
    expect(verifySha256Crypt('s3cret word', hash)).toBe(true);
    expect(cryptPassword(hash)).toBe(hash);
  });
});

describe('config files', () => {
  it('keep QEMU keys with a "-" (qemu-server QemuServer.pm:2044), which LXC does not allow', () => {
    expect(parseGuestConf('amd-sev: type=std\ncores: 2\n', 'qemu').main.props).toEqual({
      'amd-sev': 'type=std',
      cores: '2',
    });
    expect(parseGuestConf('amd-sev: type=std\ncores: 2\n', 'lxc').main.props).toEqual({ cores: '2' });
  });
});

describe('clone edges', () => {
  const deps = (guests: Guest[], id: string) =>
    expandConfig(configOf(guests)).targets.find((t) => t.id === id)?.deps ?? [];

  it('a clone made from a snapshot waits for that snapshot of its source and copies it with --snapname', () => {
    const src: LxcGuest = lxcGuest(900, {
      features: ['base'],
      snapshots: [{ name: 'ready', after: 'features' }],
    });
    const clone = lxcGuest(103, { cloneFrom: 900, cloneSnapshot: 'ready' });
    expect(deps([src, clone], 'lxc/103:exists')).toEqual(['lxc/900:snapshot:ready']);
    const exists = expandConfig(configOf([src, clone])).targets.find((t) => t.id === 'lxc/103:exists')!;
    const ctx = context(clone, undefined, [src, clone]);
    expect(exists.describe(ctx, exists.observe(ctx))).toContain(
      'pct clone 900 103 --hostname g103 --snapname ready',
    );
  });

  it('a clone of a template waits for the template; of any other guest, for its whole build', () => {
    const tpl = lxcGuest(900, { template: true, features: ['base'] });
    expect(deps([tpl, lxcGuest(103, { cloneFrom: 900 })], 'lxc/103:exists')).toEqual(['lxc/900:template']);
    const vmSrc = vmGuest(7000, { features: ['base'] });
    const vmClone = vmGuest(7001, { cloneFrom: 7000 });
    expect(deps([vmSrc, vmClone], 'vm/7001:exists')).toEqual(['vm/7000:feature:base']);
  });
});
