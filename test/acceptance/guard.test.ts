// The acceptance suite's safety rules, on the simulator: only guests in its id range that carry
// its tag are its own, and its clean-up leaves every other guest alone.
import { describe, expect, it } from 'vitest';
import { cleanUp, foreignGuests, guestsInRange, parseRange, phoenix, type Target, target } from './lib.js';

const TEMPLATE = 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst';

async function create(t: Target, vmid: number, tags?: string): Promise<void> {
  const args = ['create', String(vmid), TEMPLATE, '--hostname', `g${vmid}`, '--rootfs', 'local-lvm:1'];
  const r = await t.runner.run('pct', [...args, ...(tags ? ['--tags', tags] : [])], { mutating: true });
  expect(r.exitCode, r.stderr).toBe(0);
}

describe('acceptance suite guard', () => {
  it('reads its settings: a host needs an explicit id range, and the range must be big enough', () => {
    expect(target(9, { PHOENIX_ACCEPTANCE_HOST: 'ssh://root@pve1' })).toMatch(
      /PHOENIX_ACCEPTANCE_VMIDS is not/,
    );
    expect(
      target(9, { PHOENIX_ACCEPTANCE_HOST: 'ssh://admin@pve1', PHOENIX_ACCEPTANCE_VMIDS: '99900-99999' }),
    ).toMatch(/must log in as root/);
    expect(parseRange('99900-99905', 9)).toMatchObject({ ok: false });
    expect(parseRange('99900-99999', 9)).toEqual({ ok: true, value: { first: 99900, last: 99999 } });
    expect(parseRange('99999-99900', 9)).toMatchObject({ ok: false });
  });

  it('calls a guest in the range foreign unless tagged, and cleans up only its own guests in the range', async () => {
    const t = target(9, { PHOENIX_ACCEPTANCE_VMIDS: '99900-99999', PHOENIX_SIM_SPEED: '0' });
    if (typeof t === 'string') throw new Error(t);
    const init = await phoenix(t, ['status']);
    expect(init.status, init.stderr).toBe(0);
    await create(t, 99950);
    await create(t, 99951, 'phoenix-acceptance');
    await create(t, 99800, 'phoenix-acceptance');
    expect(await foreignGuests(t)).toEqual([99950]);
    expect(await cleanUp(t, () => {})).toEqual([99951]);
    expect((await guestsInRange(t)).map((g) => g.vmid)).toEqual([99950]);
    const outside = await t.runner.run('pct', ['status', '99800']);
    expect(outside.stdout).toMatch(/status: stopped/);
  }, 180_000);
});
