// Acceptance suite (`npm run test:acceptance`): the Phoenix CLI end to end on one host, scenario by
// scenario. Without settings it runs on a fresh simulator; with PHOENIX_ACCEPTANCE_HOST=ssh://root@host[:port]
// and PHOENIX_ACCEPTANCE_VMIDS=first-last it runs on that Proxmox node and touches only guests in
// that range that carry its tag. See README, "Acceptance suite".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanUp,
  confPath,
  foreignGuests,
  guestsInRange,
  handOverCleanUp,
  phoenix,
  stopRunning,
  TAG,
  type Target,
  target,
} from './lib.js';

const t = target(9);
if (typeof t === 'string') throw new Error(`acceptance suite: ${t}`);
const host: Target = t;
const GPUS = host.env.PHOENIX_ACCEPTANCE_GPUS === '1';
const id = (offset: number): number => host.range.first + offset;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The main section of a guest's config on the host ('' when it does not exist). */
async function conf(kind: 'lxc' | 'qemu', offset: number): Promise<string> {
  return (await host.runner.readFile(confPath(host.node, kind, id(offset)))) ?? '';
}
const main = (text: string): string => text.split(/^\[/m)[0] ?? '';

/** Nothing left to do: `build --dry-run --exit-code` exits 0 only when no target is stale. */
async function converged(stage: '1' | '2'): Promise<void> {
  const r = await phoenix(host, ['build', '--dry-run', '--exit-code'], { PHOENIX_ACCEPTANCE_STAGE: stage });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
}

// Interrupted (Ctrl-C, SIGTERM): the clean-up goes on in a process of its own, since the test
// runner ends this one soon after; the next run also starts by removing leftovers of its own.
const ALL_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(id);
let handedOver = false;
const onSignal = (signal: NodeJS.Signals): void => {
  if (handedOver) return;
  handedOver = true;
  const logFile = handOverCleanUp(host, ALL_IDS, signal !== 'SIGINT');
  log(`\nacceptance: ${signal}: cleaning up (${ALL_IDS.join(' ')}) in the background; its log: ${logFile}`);
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

beforeAll(async () => {
  log(`acceptance: host ${host.label}, node ${host.node}, ids ${host.range.first}-${host.range.last}`);
  if (host.label === 'simulator') {
    // The simulated node gets the storages, OS template and cloud image the config names.
    const init = await phoenix(host, ['status']);
    if (init.status !== 0) throw new Error(`simulator set-up failed: ${init.stderr}`);
  }
  const foreign = await foreignGuests(host);
  if (foreign.length)
    throw new Error(
      `refusing to run: guests ${foreign.join(' ')} in ${host.range.first}-${host.range.last} on ${host.label} are not the suite's (no '${TAG}' tag); choose another PHOENIX_ACCEPTANCE_VMIDS`,
    );
  const left = await cleanUp(host, log);
  if (left.length) log(`acceptance: removed leftovers of an earlier run: ${left.join(' ')}`);
}, 600_000);

afterAll(async () => {
  await stopRunning();
  await cleanUp(host, log);
  // The test runner ends its worker with SIGTERM: nothing is left to clean by then.
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}, 600_000);

describe(`acceptance on ${host.label}`, () => {
  it('builds every scenario guest from nothing', async () => {
    const r = await phoenix(host, ['build', '-j', '4'], { PHOENIX_ACCEPTANCE_STAGE: '1' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const ids = (await guestsInRange(host)).map((g) => g.vmid);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, ...(GPUS ? [8] : [])].map(id));
  });

  it('creates a container from an OS template, with tags, firewall and a provisioned feature', async () => {
    const c = main(await conf('lxc', 0));
    expect(c).toMatch(new RegExp(`^tags: .*${TAG}`, 'm'));
    expect(c).toMatch(/^net0: .*firewall=1/m);
    expect(c).toMatch(/^hostname: acc-ct$/m);
    const fw = (await host.runner.readFile(`/etc/pve/firewall/${id(0)}.fw`)) ?? '';
    expect(fw).toMatch(/^enable: 1$/m);
    expect(fw).toMatch(/^IN ACCEPT .*-p tcp .*-dport 22/m);
  });

  it('converts a template and makes a linked clone of it', async () => {
    expect(main(await conf('lxc', 1))).toMatch(/^template: 1$/m);
    // A linked clone stays on its template's storage (how its volume is named depends on the
    // storage type: `base-<t>-disk-0/subvol-…` on ZFS, a plain `vm-<id>-disk-0` thin snapshot on LVM-thin).
    const storage = /^rootfs: ([^:]+):/m.exec(main(await conf('lxc', 1)))?.[1];
    expect(main(await conf('lxc', 2))).toMatch(new RegExp(`^rootfs: ${storage}:[^,]*-${id(2)}-disk-0`, 'm'));
  });

  it('takes a snapshot and clones from it', async () => {
    expect(await conf('lxc', 3)).toMatch(/^\[golden\]$/m);
    const clone = main(await conf('lxc', 4));
    expect(clone).toMatch(/^hostname: acc-snapshot-clone$/m);
    expect(clone).not.toMatch(/base-/);
  });

  it('writes a custom id map and delegates its host ids', async () => {
    const c = main(await conf('lxc', 5));
    expect(c).toMatch(/^lxc\.idmap: u 1000 1000 1$/m);
    expect(c).toMatch(/^lxc\.idmap: g 1000 1000 1$/m);
    expect((await host.runner.readFile('/etc/subuid')) ?? '').toMatch(/^root:1000:1$/m);
  });

  it('bind-mounts a host folder', async () => {
    expect(main(await conf('lxc', 6))).toMatch(
      new RegExp(`^mp0: /var/lib/phoenix-acceptance/${id(6)},mp=/data`, 'm'),
    );
  });

  it.runIf(GPUS)('passes GPU device nodes through', async () => {
    expect(main(await conf('lxc', 8))).toMatch(/^dev0: \/dev\/nvidia0/m);
  });

  it('creates a VM from a cloud image with the guest agent, provisioned through it', async () => {
    const c = main(await conf('qemu', 7));
    expect(c).toMatch(/^agent: 1/m);
    expect(c).toMatch(/^ide2: .*cloudinit/m);
    expect(c).toMatch(/^ipconfig0: ip=dhcp/m);
    expect((await guestsInRange(host)).find((g) => g.vmid === id(7))?.status).toBe('running');
  });

  it('finds nothing to do on a second build', async () => {
    await converged('1');
  });

  it('applies changes to running guests: pending container keys and cloud-init', async () => {
    const r = await phoenix(host, ['build'], { PHOENIX_ACCEPTANCE_STAGE: '2' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const ct = await conf('lxc', 0);
    expect(main(ct)).toMatch(/^memory: 1024$/m);
    expect(main(ct)).toMatch(/^nameserver: 192\.0\.2\.53$/m);
    expect(ct).not.toMatch(/^\[pve:pending\]$/m);
    const vmConf = await conf('qemu', 7);
    expect(main(vmConf)).toMatch(/^ipconfig0: ip=192\.0\.2\.77\/24,gw=192\.0\.2\.1$/m);
    expect(vmConf).not.toMatch(/^\[special:cloudinit\]$/m);
    expect(vmConf).not.toMatch(/^\[PENDING\]$/m);
    await converged('2');
  });

  it('destroys every guest it made', async () => {
    const ids = (await guestsInRange(host)).filter((g) => g.own).map((g) => String(g.vmid));
    const r = await phoenix(host, ['destroy', '--yes', ...ids], { PHOENIX_ACCEPTANCE_STAGE: '2' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(await guestsInRange(host)).toEqual([]);
  });
});
