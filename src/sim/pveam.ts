// `pveam available|download|list` (pve-manager PVE/CLI/pveam.pm; download is
// PVE::API2::Nodes::Nodeinfo apl_download, PVE/API2/Nodes.pm:1773-1845). The appliance index is
// what `pveam update` would have fetched: sim/aplinfo.json when present, else the list below
// (names in Proxmox's format; the versions are examples, not a copy of download.proxmox.com).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { storageContent } from '../pve/format/index.js';
import { type Params, paramStr } from './args.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie } from './errors.js';
import { readJson } from './io.js';
import { placeholderSize } from './pvesh.js';
import { storagePath } from './storage.js';

interface Appliance {
  section: string;
  template: string;
  architecture: string;
  type: string;
}

const DEFAULT_INDEX: Appliance[] = [
  ['debian-12-standard_12.12-1_amd64.tar.zst', 'amd64'],
  ['debian-13-standard_13.1-2_amd64.tar.zst', 'amd64'],
  ['ubuntu-22.04-standard_22.04-1_amd64.tar.zst', 'amd64'],
  ['ubuntu-24.04-standard_24.04-2_amd64.tar.zst', 'amd64'],
  ['alpine-3.22-default_20250617_amd64.tar.xz', 'amd64'],
].map(([template, architecture]) => ({
  section: 'system',
  template: template!,
  architecture: architecture!,
  type: 'lxc',
}));

function index(ctx: Ctx): Appliance[] {
  return readJson<Appliance[]>(ctx.host.simPath('aplinfo.json'), DEFAULT_INDEX);
}

/** `pveam available [--section S]`: `%-15s %-60s %s` per template, sections and names sorted (pveam.pm:55-86). */
export function pveamAvailable(ctx: Ctx, p: Params): void {
  ctx.sleep('read');
  const section = paramStr(p, 'section');
  const rows = index(ctx)
    .filter((a) => !section || a.section === section)
    .sort((a, b) => (a.section + a.template < b.section + b.template ? -1 : 1));
  for (const a of rows) ctx.out(`${a.section.padEnd(15)} ${a.template.padEnd(60)} ${a.architecture}\n`);
}

function vztmplStorage(ctx: Ctx, sid: string, message: string): string {
  const s = ctx.storage.get(sid);
  if (!storageContent(s).includes('vztmpl')) throw new PveDie(message);
  const base = storagePath(s);
  if (!base) throw new PveDie(message);
  return base;
}

/** `pveam download <storage> <template>`: checks, then a `download` task writing the file (Nodes.pm:1805-1845). */
export function pveamDownload(ctx: Ctx, p: Params): void {
  const sid = paramStr(p, 'storage')!;
  const template = paramStr(p, 'template')!;
  const appliance = index(ctx).find((a) => a.template === template);
  if (!appliance) throw new ParamError({ template: 'no such template' });
  if (appliance.type !== 'lxc' && appliance.type !== 'openvz')
    throw new PveDie(`unknown template type '${appliance.type}'`);
  const base = vztmplStorage(ctx, sid, `storage '${sid}' does not support templates`);
  ctx.task(false, () => {
    ctx.out(
      `downloading http://download.proxmox.com/images/system/${template} to ${join(base, 'template/cache', template)}\n`,
    );
    ctx.faultPoint([]);
    ctx.sleep('pctCreate');
    const file = ctx.host.hostPath(join(base, 'template/cache', template));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `placeholder for ${template}\n`);
    ctx.out('download of template finished\n');
  });
}

/** `pveam list <storage>`: `%-60s %-6s` header, then volid and size in MB (pveam.pm:120-160, 199-206). */
export function pveamList(ctx: Ctx, p: Params): void {
  ctx.sleep('read');
  const sid = paramStr(p, 'storage')!;
  vztmplStorage(ctx, sid, 'Storage does not support templates!');
  ctx.out(`${'NAME'.padEnd(60)} ${'SIZE'.padEnd(6)}\n`);
  for (const f of ctx.storage.files(ctx.storage.get(sid), 'vztmpl'))
    ctx.out(
      `${`${sid}:vztmpl/${f.name}`.padEnd(60)} ${(placeholderSize('vztmpl', f.size) / (1024 * 1024)).toFixed(2)}MB\n`,
    );
}
