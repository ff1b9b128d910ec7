// Runtime order of guests: service dependencies (`dependsOn`) only — a clone does not need its
// template running. Start goes dependencies first, stop goes dependents first (the legacy tool
// stopped dependencies first, cutting services from under their users).
import type { Config, Vmid } from '../dsl/model.js';

export interface Ordered {
  /** Guests in the order to act on them. */
  order: Vmid[];
  /** Guests added to the selection because of a dependency, with the reason. */
  added: Array<{ vmid: Vmid; because: string }>;
}

function dependents(config: Config, vmid: Vmid): Vmid[] {
  return [...config.guests.values()].filter((g) => g.dependsOn.includes(vmid)).map((g) => g.vmid);
}

function dependencies(config: Config, vmid: Vmid): Vmid[] {
  return config.guests.get(vmid)?.dependsOn ?? [];
}

/**
 * Closes the selection over dependencies (for start) or dependents (for stop), unless `only`;
 * then sorts it so every guest comes after the ones it must follow. Ties keep VMID order.
 * Guests the config does not declare have no edges and keep their given place at the end.
 */
export function runtimeOrder(
  config: Config,
  selected: Vmid[],
  direction: 'start' | 'stop',
  only = false,
): Ordered {
  const next = direction === 'start' ? dependencies : dependents;
  const chosen = new Set<Vmid>(selected);
  const added: Ordered['added'] = [];
  if (!only) {
    const queue = [...selected];
    while (queue.length) {
      const v = queue.shift()!;
      for (const d of next(config, v)) {
        if (chosen.has(d) || !config.guests.has(d)) continue;
        chosen.add(d);
        added.push({
          vmid: d,
          because: direction === 'start' ? `${v} depends on it` : `it depends on ${v}`,
        });
        queue.push(d);
      }
    }
  }
  // Kahn's algorithm over "must come before" edges inside the selection.
  const before = (v: Vmid): Vmid[] => next(config, v).filter((d) => chosen.has(d));
  const declared = [...chosen].filter((v) => config.guests.has(v)).sort((a, b) => a - b);
  const undeclared = selected.filter((v) => !config.guests.has(v));
  const order: Vmid[] = [];
  const done = new Set<Vmid>();
  while (order.length < declared.length) {
    const ready = declared.find((v) => !done.has(v) && before(v).every((d) => done.has(d)));
    // A cycle cannot pass validation; take the lowest remaining guest rather than loop forever.
    const pick = ready ?? declared.find((v) => !done.has(v))!;
    order.push(pick);
    done.add(pick);
  }
  return { order: [...order, ...undeclared.filter((v, i) => undeclared.indexOf(v) === i)], added };
}

/** Destroy order: clones before their sources (a template with linked clones cannot go first). */
export function destroyOrder(selected: Vmid[], sourceOf: (v: Vmid) => Vmid[]): Vmid[] {
  const set = new Set(selected);
  const sorted = [...set].sort((a, b) => a - b);
  const order: Vmid[] = [];
  const done = new Set<Vmid>();
  // v may go once every selected guest cloned from v is gone.
  const clonesOf = (v: Vmid) => sorted.filter((c) => c !== v && sourceOf(c).includes(v));
  while (order.length < sorted.length) {
    const ready = sorted.find((v) => !done.has(v) && clonesOf(v).every((c) => done.has(c)));
    const pick = ready ?? sorted.find((v) => !done.has(v))!;
    order.push(pick);
    done.add(pick);
  }
  return order;
}
