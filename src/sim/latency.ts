// The latency model: seconds per operation at speed 1 (estimates, chosen mid-range: Proxmox's
// source says nothing about durations). Exported so benchmarks can compute critical-path bounds from the
// same table the simulator sleeps by.
import { sleepMs } from './io.js';

export const LATENCY_S = {
  /** Perl start-up of pct/qm/pvesh/pvesm before any work (0.3–1.0 s). */
  processStart: 0.6,
  /** Reads: config, status, list, pvesh get (on top of process start). */
  read: 0.2,
  /** `pct set`/`qm set` without disk allocation. */
  set: 0.4,
  /** Allocating a new volume (mp, cloud-init drive, create's rootfs). */
  alloc: 1.0,
  /** `pct create` from a compressed OS template (10–40 s). */
  pctCreate: 20,
  /** `qm create` (no import). */
  qmCreate: 2,
  /** `qm disk import` of a cloud image (qemu-img convert of ~600 MB used). */
  diskImport: 15,
  /** Linked clone (2–6 s CT, 1–3 s VM). */
  cloneLinkedCt: 4,
  cloneLinkedVm: 2,
  /** Full clone (proportional to data; a small guest). */
  cloneFullCt: 60,
  cloneFullVm: 90,
  /** `pct template` / `qm template`. */
  template: 2,
  snapshot: 2,
  rollback: 3,
  delsnapshot: 2,
  resize: 1.5,
  /** `pct start` until RUNNING; `qm start` task. */
  startCt: 2,
  startVm: 2,
  /** Guest agent answers this long after `qm start` (10–60 s). */
  agentBoot: 25,
  /** `qm guest cmd ping` failing: the agent ping timeout. */
  agentPingTimeout: 3,
  stop: 1.5,
  shutdownCt: 5,
  shutdownVm: 8,
  destroy: 3,
  push: 0.3,
  /** `pct exec` / `qm guest exec` of a trivial command. */
  exec: 0.3,
  /** pvestatd broadcast period: /cluster/resources lags by up to this much. */
  pvestatdPeriod: 10,
  /** pmxcfs drops RRD data older than this (pve-cluster src/pmxcfs/status.c:1442-1443: 5 min). */
  rrdExpire: 300,
  /** A migration's fixed part: ssh to the target, config move, unlock (2–5 s). */
  migrate: 3,
  /** Copying one local volume to the target node (`storage_migrate` of a small guest, 10–60 s). */
  migrateVolume: 30,
  /** `qm migrate --online`: transferring the running VM's memory (a small VM, 10–30 s). */
  migrateRam: 15,
} as const;

export type LatencyOp = keyof typeof LATENCY_S;

/** Sleeps for the model duration of `op` scaled by `speed` (0 = no sleep). */
export function simulate(op: LatencyOp, speed: number, factor = 1): void {
  sleepMs(LATENCY_S[op] * 1000 * speed * factor);
}
