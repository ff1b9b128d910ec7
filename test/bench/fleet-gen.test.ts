// Generated benchmark fleets are valid configs shaped like the legacy fleet.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { fleetGuests, writeFleet } from '../../bench/fleet-gen.mjs';
import { loadConfig } from '../../src/dsl/load.js';

type G = { vmid: number; kind: string; spec: Record<string, unknown> };

describe('fleet generator', () => {
  it.each([10, 100])('writes a valid %i-guest config with its scripts', async (n) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-'));
    try {
      const file = writeFleet(n, dir);
      const r = await loadConfig(file, { cache: false });
      if (!r.ok) throw new Error(JSON.stringify(r.error.slice(0, 3)));
      expect(r.value.guests.size).toBe(n);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has templates, clone chains of depth 3, VMs and service dependencies', () => {
    const guests: G[] = fleetGuests(1000);
    expect(guests).toHaveLength(1000);
    expect(new Set(guests.map((g) => g.vmid)).size).toBe(1000);
    expect(new Set(guests.map((g) => g.spec.name)).size).toBe(1000);
    const byId = new Map(guests.map((g) => [g.vmid, g]));
    const depth = (g: G): number => {
      const src = g.spec.cloneFrom as number | undefined;
      return src === undefined ? 1 : 1 + depth(byId.get(src)!);
    };
    expect(Math.max(...guests.map(depth))).toBe(4); // template → template → template → clone
    expect(guests.filter((g) => g.spec.template).length).toBe(80); // 4 per family of 50
    expect(guests.some((g) => g.kind === 'vm' && g.spec.cloneFrom !== undefined)).toBe(true);
    expect(guests.filter((g) => (g.spec.dependsOn as number[] | undefined)?.length).length).toBeGreaterThan(
      800,
    );
    const ips = guests.flatMap((g) => ((g.spec.net as { ip: string }[] | undefined) ?? []).map((x) => x.ip));
    expect(new Set(ips).size).toBe(ips.length);
  });
});
