#!/usr/bin/env node
// Generates a Phoenix config of N guests shaped like the real fleet, plus its feature and app
// scripts, into a folder:
//
//   node bench/fleet-gen.mjs <N> <dir>
//
// The fleet is made of families of up to 50 guests. Each family mirrors the legacy fleet: a base
// CT template built from an OS template (like 900), a GPU template cloned from it (like 901), a
// vLLM template cloned from that (like 911) — a clone chain of depth 3 — and a VM template from a
// cloud image (like 9000). The other members are clones of those four: services on the base
// template (the first is the family's CA, like 103, which the others depend on), GPU and vLLM
// workers (which depend on a VM, like 801/914 on 1002) and VMs (which depend on the CA). Guests
// of later families also depend on family 0's CA, as a fleet shares one CA. Every generated
// VMID, name, IP and MAC is unique and passes validation.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FAMILY = 50;
const FEATURES = {
  base_setup: 'Base packages',
  docker: 'Docker Engine',
  step_cli: 'Smallstep step CLI',
  trusted_ca: "Trusts the internal CA's root",
  nvidia: 'NVIDIA userspace driver',
  vllm: 'vLLM',
  ollama: 'Ollama server',
  step_ca: 'Smallstep step-ca',
};
// Roles of the non-template members of a family, cycled in this order.
const ROLES = ['ct', 'ct', 'gpu', 'vm', 'ct', 'vllm', 'gpu', 'ct', 'vm', 'vllm', 'ct'];

const hex = (n) => n.toString(16).padStart(2, '0').toUpperCase();

/** The guests of a fleet of n guests as plain data: { vmid, kind, spec }[]. */
export function fleetGuests(n) {
  if (!Number.isInteger(n) || n < 4) throw new Error(`fleet size ${n}: need at least 4 guests`);
  const guests = [];
  const families = Math.ceil(n / FAMILY);
  let left = n;
  let ca0;
  for (let f = 0; f < families; f++) {
    // The last family takes the remainder, but at least 4 (its templates).
    const size = f === families - 1 ? left : Math.min(FAMILY, left - 4 * (families - f - 1));
    left -= size;
    const base = 10000 + f * 100;
    const ip = (j) => `10.${20 + Math.floor(f / 200)}.${f % 200}.${10 + j}/16`;
    const mac = (j) => `02:00:${hex(f >> 8)}:${hex(f & 255)}:${hex(j)}:01`;
    const net = (j) => [{ name: 'eth0', bridge: 'vmbr0', ip: ip(j), gw: '10.20.0.1', hwaddr: mac(j) }];
    const B = base;
    const C = base + 1;
    const G = base + 2;
    const V = base + 3;
    guests.push({
      vmid: B,
      kind: 'lxc',
      spec: {
        name: `f${f}-base`,
        template: true,
        ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
        cores: 2,
        memoryMb: 2048,
        rootfs: { storage: 'quickOS-lxc-disks', sizeGb: 16 },
        net: net(0),
        nameserver: '10.20.0.1',
        features: ['base_setup'],
      },
    });
    guests.push({
      vmid: C,
      kind: 'lxc',
      spec: { name: `f${f}-gpu`, template: true, cloneFrom: B, net: net(1), features: ['nvidia'] },
    });
    guests.push({
      vmid: G,
      kind: 'lxc',
      spec: { name: `f${f}-vllm`, template: true, cloneFrom: C, net: net(2), features: ['vllm'] },
    });
    guests.push({
      vmid: V,
      kind: 'vm',
      spec: {
        name: `f${f}-cloud`,
        template: true,
        image: 'local:import/noble-server-cloudimg-amd64.qcow2',
        cores: 2,
        memoryMb: 4096,
        storage: 'quickOS-vm-disks',
        bridge: 'vmbr0',
        cloudInit: { user: 'phoenix_user', ip: 'dhcp' },
      },
    });
    let ca;
    let lastVm;
    for (let j = 4; j < size; j++) {
      const role = ROLES[(j - 4) % ROLES.length];
      const vmid = base + j;
      const deps = [];
      if (ca0 !== undefined && ca0 !== ca) deps.push(ca0);
      if (role === 'ct') {
        const first = ca === undefined;
        if (!first) deps.push(ca);
        guests.push({
          vmid,
          kind: 'lxc',
          spec: {
            name: first ? `f${f}-ca` : `f${f}-svc${j}`,
            cloneFrom: B,
            memoryMb: 1024,
            rootfs: { sizeGb: 32 },
            net: net(j),
            ...(deps.length ? { dependsOn: [...new Set(deps)] } : {}),
            features: first ? ['base_setup', 'step_ca'] : ['base_setup', 'trusted_ca', 'step_cli', 'docker'],
            app: { script: first ? 'apps/ca.sh' : 'apps/service.sh' },
            snapshots: first
              ? [{ name: 'final-form', after: 'app' }]
              : [
                  { name: 'pre-configured', after: 'config' },
                  { name: 'final-form', after: 'app' },
                ],
            boot: { onboot: true, order: first ? 1 : 2 },
          },
        });
        if (first) {
          ca = vmid;
          if (ca0 === undefined) ca0 = vmid;
        }
      } else if (role === 'vm') {
        if (ca !== undefined) deps.push(ca);
        guests.push({
          vmid,
          kind: 'vm',
          spec: {
            name: `f${f}-vm${j}`,
            cloneFrom: V,
            cores: 4,
            memoryMb: 8192,
            diskGb: 32,
            cloudInit: { ip: ip(j), gw: '10.20.0.1' },
            ...(deps.length ? { dependsOn: [...new Set(deps)] } : {}),
            features: ['base_setup', 'trusted_ca', 'docker'],
          },
        });
        lastVm = vmid;
      } else {
        if (lastVm !== undefined) deps.push(lastVm);
        else if (ca !== undefined) deps.push(ca);
        guests.push({
          vmid,
          kind: 'lxc',
          spec: {
            name: `f${f}-${role}${j}`,
            cloneFrom: role === 'gpu' ? C : G,
            memoryMb: 8192,
            net: net(j),
            ...(deps.length ? { dependsOn: [...new Set(deps)] } : {}),
            features: role === 'gpu' ? ['ollama'] : ['trusted_ca', 'step_cli'],
            snapshots: [{ name: 'final-form', after: 'features' }],
          },
        });
      }
    }
  }
  return guests;
}

/** The config's source text. */
export function fleetSource(n) {
  const lines = [
    `// Generated by bench/fleet-gen.mjs: ${n} guests shaped like the legacy fleet.`,
    "import { defineConfig, lxc, vm } from 'phoenix-pve';",
    '',
    'export default defineConfig({',
    "  node: 'pve',",
    '  storages: {',
    "    local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },",
    "    'quickOS-lxc-disks': { type: 'zfspool', content: ['images', 'rootdir'], pool: 'quickOS/lxc-disks' },",
    "    'quickOS-vm-disks': { type: 'zfspool', content: ['images'], pool: 'quickOS/vm-disks' },",
    '  },',
    '  features: {',
    ...Object.entries(FEATURES).map(
      ([k, d]) => `    ${k}: { script: 'features/${k}.sh', description: ${JSON.stringify(d)} },`,
    ),
    '  },',
    '  guests: {',
    ...fleetGuests(n).map((g) => `    ${g.vmid}: ${g.kind}(${JSON.stringify(g.spec)}),`),
    '  },',
    '});',
    '',
  ];
  return lines.join('\n');
}

/** Writes the config and its scripts into dir; returns the config's path. */
export function writeFleet(n, dir) {
  fs.mkdirSync(path.join(dir, 'features'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'apps'), { recursive: true });
  for (const k of Object.keys(FEATURES)) {
    fs.writeFileSync(path.join(dir, 'features', `${k}.sh`), `#!/bin/bash\nset -euo pipefail\necho ${k}\n`);
  }
  for (const a of ['ca', 'service']) {
    fs.writeFileSync(path.join(dir, 'apps', `${a}.sh`), `#!/bin/bash\nset -euo pipefail\necho ${a}\n`);
  }
  const file = path.join(dir, 'phoenix.config.ts');
  fs.writeFileSync(file, fleetSource(n));
  return file;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [n, dir] = process.argv.slice(2);
  if (!n || !dir) {
    console.error('usage: node bench/fleet-gen.mjs <guests> <dir>');
    process.exit(2);
  }
  console.log(writeFleet(Number(n), path.resolve(dir)));
}
