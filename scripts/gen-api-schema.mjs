#!/usr/bin/env node
// Generates src/sim/schema/api.json: the parameter schemas of the Proxmox API methods the
// simulator's commands map to, trimmed from the official PVE 9 schema kept in the repository
// (src/sim/schema/pve-api-schema.json: pve-docs' apidoc.js with descriptions removed), plus every
// path with its methods and child link (what pvesh uses to find handlers and list children), plus
// the CLI-only methods of pct/qm/pveam (status, unlock, exec, push, pull, disk import, guest exec,
// list, available, download), which exist only in PVE::CLI::pct/qm (pve-container
// src/PVE/CLI/pct.pm, qemu-server src/PVE/CLI/qm.pm) and are written out here by hand.
//
// Usage: node scripts/gen-api-schema.mjs [path/to/api-schema.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = process.argv[2] ?? join(here, '..', 'src', 'sim', 'schema', 'pve-api-schema.json');
const out = join(here, '..', 'src', 'sim', 'schema', 'api.json');

const USED = [
  ['POST', '/nodes/{node}/lxc'],
  ['GET', '/nodes/{node}/lxc'],
  ['DELETE', '/nodes/{node}/lxc/{vmid}'],
  ['GET', '/nodes/{node}/lxc/{vmid}/config'],
  ['PUT', '/nodes/{node}/lxc/{vmid}/config'],
  ['GET', '/nodes/{node}/lxc/{vmid}/status/current'],
  ['POST', '/nodes/{node}/lxc/{vmid}/status/start'],
  ['POST', '/nodes/{node}/lxc/{vmid}/status/stop'],
  ['POST', '/nodes/{node}/lxc/{vmid}/status/shutdown'],
  ['GET', '/nodes/{node}/lxc/{vmid}/snapshot'],
  ['POST', '/nodes/{node}/lxc/{vmid}/snapshot'],
  ['DELETE', '/nodes/{node}/lxc/{vmid}/snapshot/{snapname}'],
  ['POST', '/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback'],
  ['POST', '/nodes/{node}/lxc/{vmid}/template'],
  ['POST', '/nodes/{node}/lxc/{vmid}/clone'],
  ['POST', '/nodes/{node}/lxc/{vmid}/migrate'],
  ['PUT', '/nodes/{node}/lxc/{vmid}/resize'],
  ['GET', '/nodes/{node}/lxc/{vmid}/pending'],
  ['POST', '/nodes/{node}/qemu'],
  ['GET', '/nodes/{node}/qemu'],
  ['DELETE', '/nodes/{node}/qemu/{vmid}'],
  ['GET', '/nodes/{node}/qemu/{vmid}/config'],
  ['PUT', '/nodes/{node}/qemu/{vmid}/config'],
  ['GET', '/nodes/{node}/qemu/{vmid}/status/current'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/start'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/stop'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/shutdown'],
  ['GET', '/nodes/{node}/qemu/{vmid}/snapshot'],
  ['POST', '/nodes/{node}/qemu/{vmid}/snapshot'],
  ['DELETE', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}'],
  ['POST', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback'],
  ['POST', '/nodes/{node}/qemu/{vmid}/template'],
  ['POST', '/nodes/{node}/qemu/{vmid}/clone'],
  ['POST', '/nodes/{node}/qemu/{vmid}/migrate'],
  ['PUT', '/nodes/{node}/qemu/{vmid}/resize'],
  ['POST', '/nodes/{node}/qemu/{vmid}/agent'],
  ['GET', '/nodes/{node}/qemu/{vmid}/pending'],
  ['GET', '/cluster/resources'],
  ['GET', '/cluster/nextid'],
  ['GET', '/nodes'],
  ['GET', '/version'],
  ['GET', '/storage'],
  ['GET', '/nodes/{node}/storage'],
  ['GET', '/nodes/{node}/storage/{storage}/content'],
  ['GET', '/nodes/{node}/tasks'],
  ['GET', '/nodes/{node}/tasks/{upid}/status'],
  ...['lxc', 'qemu'].flatMap((k) => [
    ['GET', `/nodes/{node}/${k}/{vmid}/firewall`],
    ['GET', `/nodes/{node}/${k}/{vmid}/firewall/rules`],
    ['POST', `/nodes/{node}/${k}/{vmid}/firewall/rules`],
    ['GET', `/nodes/{node}/${k}/{vmid}/firewall/rules/{pos}`],
    ['PUT', `/nodes/{node}/${k}/{vmid}/firewall/rules/{pos}`],
    ['DELETE', `/nodes/{node}/${k}/{vmid}/firewall/rules/{pos}`],
    ['GET', `/nodes/{node}/${k}/{vmid}/firewall/options`],
    ['PUT', `/nodes/{node}/${k}/{vmid}/firewall/options`],
  ]),
];

// Highest index + 1 of indexed keys (`net[n]` → net0..net31), from pve-container/qemu-server.
const INDEX_COUNT = {
  lxc: { net: 32, mp: 256, unused: 256, dev: 256 },
  qemu: {
    net: 32,
    scsi: 31,
    virtio: 16,
    sata: 6,
    ide: 4,
    ipconfig: 32,
    unused: 256,
    hostpci: 16,
    serial: 4,
    usb: 14,
    numa: 8,
    parallel: 3,
    virtiofs: 10,
  },
};

const KEEP = [
  'type',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'optional',
  'default',
  'default_key',
  'alias',
  'keyAlias',
  'requires',
];

// Perl's `(?^:...)` (default flags group) is JS's `(?:...)`.
const perlToJs = (re) => re.replaceAll('(?^:', '(?:').replaceAll('(?^i:', '(?:');

function trim(prop) {
  const res = {};
  for (const k of KEEP) {
    if (prop[k] === undefined) continue;
    res[k] = k === 'pattern' ? perlToJs(prop[k]) : prop[k];
  }
  if (typeof prop.format === 'string') res.format = prop.format;
  else if (prop.format && typeof prop.format === 'object') {
    res.format = Object.fromEntries(Object.entries(prop.format).map(([k, v]) => [k, trim(v)]));
  }
  return res;
}

const schema = JSON.parse(readFileSync(src, 'utf8'));
const methods = {};
for (const [method, path] of USED) {
  const info = schema.endpoints[path]?.[method];
  if (!info) throw new Error(`${method} ${path} missing from ${src}`);
  const kind = path.includes('/lxc') ? 'lxc' : 'qemu';
  const props = {};
  for (const [name, p] of Object.entries(info.parameters?.properties ?? {})) {
    const m = /^([a-z]+)\[n\]$/.exec(name);
    const t = trim(p);
    if (m) t.indexCount = INDEX_COUNT[kind][m[1]] ?? 32;
    props[name] = t;
  }
  methods[`${method} ${path}`] = { name: info.name, properties: props };
}

// Older copies of the schema lost every parameter literally named `description` when
// descriptions were removed; put them back as pve-container/qemu-server define them.
const DESCRIPTION = {
  'POST /nodes/{node}/lxc': { type: 'string', optional: 1, maxLength: 8192 },
  'PUT /nodes/{node}/lxc/{vmid}/config': { type: 'string', optional: 1, maxLength: 8192 },
  'POST /nodes/{node}/lxc/{vmid}/snapshot': { type: 'string', optional: 1 },
  'POST /nodes/{node}/lxc/{vmid}/clone': { type: 'string', optional: 1 },
  'POST /nodes/{node}/qemu': { type: 'string', optional: 1, maxLength: 8192 },
  'PUT /nodes/{node}/qemu/{vmid}/config': { type: 'string', optional: 1, maxLength: 8192 },
  'POST /nodes/{node}/qemu/{vmid}/snapshot': { type: 'string', optional: 1 },
  'POST /nodes/{node}/qemu/{vmid}/clone': { type: 'string', optional: 1 },
};
for (const [key, prop] of Object.entries(DESCRIPTION)) methods[key].properties.description ??= prop;

const vmid = { type: 'integer', format: 'pve-vmid', minimum: 100, maximum: 999999999 };
// CLI-only methods (pve-container src/PVE/CLI/pct.pm, qemu-server src/PVE/CLI/qm.pm).
const cli = {
  'pct status': { vmid, verbose: { type: 'boolean', optional: 1 } },
  'pct unlock': { vmid },
  'pct exec': {
    vmid,
    'keep-env': { type: 'boolean', optional: 1, default: 1 },
    'extra-args': { type: 'array', optional: 1 },
  },
  'pct push': {
    vmid,
    file: { type: 'string' },
    destination: { type: 'string' },
    user: { type: 'string', optional: 1 },
    group: { type: 'string', optional: 1 },
    perms: { type: 'string', optional: 1 },
  },
  'qm status': { vmid, verbose: { type: 'boolean', optional: 1 } },
  'qm unlock': { vmid },
  'qm list': { full: { type: 'boolean', optional: 1 } },
  'qm disk import': {
    vmid,
    source: { type: 'string' },
    storage: { type: 'string', format: 'pve-storage-id' },
    format: { type: 'string', enum: ['raw', 'qcow2', 'vmdk'], optional: 1 },
    'target-disk': { type: 'string', optional: 1 },
  },
  'qm guest exec': {
    vmid,
    'extra-args': { type: 'array', optional: 1 },
    synchronous: { type: 'boolean', optional: 1, default: 1 },
    timeout: { type: 'integer', minimum: 0, optional: 1, default: 30 },
    'pass-stdin': { type: 'boolean', optional: 1, default: 0 },
  },
  'pvesh get': { api_path: { type: 'string' } },
  // pve-container src/PVE/CLI/pct.pm:607-640
  'pct pull': {
    vmid,
    path: { type: 'string' },
    destination: { type: 'string' },
    user: { type: 'string', optional: 1 },
    group: { type: 'string', optional: 1 },
    perms: { type: 'string', optional: 1 },
  },
  // pve-manager PVE/CLI/pveam.pm (available: section filter; list: storage + content vztmpl)
  'pveam available': {
    section: { type: 'string', enum: ['system', 'mail', 'turnkeylinux'], optional: 1 },
  },
  'pveam list': { storage: { type: 'string', format: 'pve-storage-id' } },
  // pve-manager PVE/API2/Nodes.pm:1773-1800 (apl_download), node fixed by the CLI
  'pveam download': {
    storage: { type: 'string', format: 'pve-storage-id' },
    template: { type: 'string', maxLength: 255 },
  },
};

// Every path of the schema with its methods and the child link of its GET (pvesh `ls`,
// pve-manager PVE/CLI/pvesh.pm resource_cap / extract_children).
const paths = {};
for (const [path, byMethod] of Object.entries(schema.endpoints)) {
  paths[path] = Object.fromEntries(
    Object.keys(byMethod).map((m) => [
      m,
      byMethod[m].returns?.links?.find((l) => l.rel === 'child')?.href ?? null,
    ]),
  );
}

writeFileSync(
  out,
  `${JSON.stringify({ source: `generated by scripts/gen-api-schema.mjs from ${schema.source}`, methods, cli, paths }, null, 1)}\n`,
);
console.log(
  `wrote ${out}: ${Object.keys(methods).length} API methods, ${Object.keys(cli).length} CLI methods`,
);
