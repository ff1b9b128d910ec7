// The API methods `pvesh` serves (pve-manager PVE/CLI/pvesh.pm), and `pvesm status|list`
// (pve-storage src/PVE/CLI/pvesm.pm).
import { type GuestKind, storageContent, storageProp, withPendingApplied } from '../pve/format/index.js';
import type { Params } from './args.js';
import {
  isNodeDown,
  isSharedStorage,
  nodeDownSince,
  nodeIpOf,
  sshNoRoute,
  storageOnNode,
} from './cluster.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie, SimGap } from './errors.js';
import { firewallApi } from './firewall.js';
import { isTemplate } from './guest.js';
import type { Runtime } from './host.js';
import { LATENCY_S } from './latency.js';
import { lxcStatus } from './pct.js';
import { vmStatus } from './qm.js';
import { findHandler } from './schema.js';
import { nodeTasks, pvestatdSweep, taskStatus } from './tasks.js';

/** Canonical JSON (sorted keys), as Perl's JSON with `canonical => 1`. */
export function canonicalJson(value: unknown, pretty = false, indent = ''): string {
  const next = pretty ? `${indent}   ` : '';
  const nl = pretty ? '\n' : '';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${nl}${value.map((v) => `${next}${canonicalJson(v, pretty, next)}`).join(`,${nl}`)}${nl}${pretty ? indent : ''}]`;
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    const sep = pretty ? ' : ' : ':';
    return `{${nl}${keys
      .map(
        (k) =>
          `${next}${JSON.stringify(k)}${sep}${canonicalJson((value as Record<string, unknown>)[k], pretty, next)}`,
      )
      .join(`,${nl}`)}${nl}${pretty ? indent : ''}}`;
  }
  return JSON.stringify(value);
}

function guestSection(ctx: Ctx, kind: GuestKind, vmid: number) {
  return ctx.host.loadConf(kind, vmid).main;
}

/** /cluster/resources lags like pvestatd's 10 s broadcast (scaled by speed; none at speed 0). */
function lagged(
  rt: Runtime,
  speed: number,
): { fresh: boolean; status: string | undefined; templateLag: boolean } {
  const period = LATENCY_S.pvestatdPeriod * 1000 * speed;
  if (period <= 0) return { fresh: false, status: undefined, templateLag: false };
  const lastTick = Math.floor(Date.now() / period) * period;
  return {
    fresh: (rt.createdAt ?? 0) > lastTick,
    status: (rt.statusChangedAt ?? 0) > lastTick ? rt.prevStatus : undefined,
    templateLag: (rt.templateAt ?? 0) > lastTick,
  };
}

/**
 * Whether pmxcfs still holds the RRD data a down node last broadcast: entries older than 5 minutes
 * are dropped from the dump (pve-cluster src/pmxcfs/status.c:1436-1446), scaled by speed like pvestatd.
 */
function rrdFresh(ctx: Ctx, node: string): boolean {
  const since = nodeDownSince(ctx.host.root, node);
  if (since === undefined) return true;
  return Date.now() - since < LATENCY_S.rrdExpire * 1000 * ctx.env.speed;
}

/**
 * `/cluster/resources` (pve-manager PVE/API2/Cluster.pm:515-660): every guest of .vmlist with its
 * node, RRD stats (`extract_vm_stats`, PVE/API2Tools.pm:81-118; none left for a node down > 5 min:
 * `status: unknown` only) and `lock`/`tags` from the replicated configs (Cluster.pm:555, 584-588);
 * every node of the nodelist, `offline` when corosync lost it (`extract_node_stats`,
 * API2Tools.pm:38-79); every storage on every node that has it (`storage_check_enabled` per node,
 * Cluster.pm:643-657; `extract_storage_stats`, API2Tools.pm:120-144).
 */
function resources(ctx: Ctx, type: string | undefined): unknown[] {
  const out: unknown[] = [];
  const nodes = ctx.host.nodes();
  const cluster = ctx.host.isCluster;
  const down = (n: string): boolean => cluster && isNodeDown(ctx.host.root, n);
  if (!type || type === 'vm') {
    for (const g of ctx.host.listGuests()) {
      const on = ctx.on(g.node);
      const sec = guestSection(on, g.kind, g.vmid);
      const rt = ctx.host.runtime(g.vmid);
      const lag = lagged(rt, ctx.env.speed);
      const entry: Record<string, unknown> = {
        id: `${g.kind}/${g.vmid}`,
        vmid: g.vmid,
        node: g.node,
        type: g.kind,
      };
      if (lag.fresh || (down(g.node) && !rrdFresh(ctx, g.node))) entry.status = 'unknown';
      else {
        const st = g.kind === 'lxc' ? lxcStatus(on, g.vmid, sec) : vmStatus(on, g.vmid, sec);
        Object.assign(entry, {
          cpu: 0,
          disk: st.disk,
          diskread: 0,
          diskwrite: 0,
          maxcpu: st.cpus,
          maxdisk: st.maxdisk,
          maxmem: st.maxmem,
          mem: st.mem,
          name: st.name,
          netin: 0,
          netout: 0,
          status: lag.status ?? st.status,
          template: isTemplate(sec) && !lag.templateLag ? 1 : 0,
          uptime: lag.status ? 0 : st.uptime,
        });
      }
      if (sec.props.lock) entry.lock = sec.props.lock;
      if (sec.props.tags) entry.tags = sec.props.tags;
      out.push(entry);
    }
  }
  if (!type || type === 'node') {
    for (const node of nodes) {
      const entry: Record<string, unknown> = { id: `node/${node}`, node, type: 'node', status: 'unknown' };
      if (!down(node) || rrdFresh(ctx, node)) {
        Object.assign(entry, { level: '', maxcpu: 16, maxdisk: 100 * 1024 ** 3, maxmem: 64 * 1024 ** 3 });
        if (!down(node)) {
          Object.assign(entry, {
            cpu: 0.02,
            disk: 10 * 1024 ** 3,
            mem: 8 * 1024 ** 3,
            status: 'online',
            uptime: 86400,
          });
        }
      }
      if (down(node)) entry.status = 'offline';
      out.push(entry);
    }
  }
  if (!type || type === 'storage') {
    for (const s of ctx.host.allStorages()) {
      for (const node of nodes) {
        if (!storageOnNode(s, node) || storageProp(s, 'disable') !== undefined) continue;
        const entry: Record<string, unknown> = {
          content: storageContent(s).sort().join(','),
          id: `storage/${node}/${s.id}`,
          node,
          plugintype: s.type,
          shared: isSharedStorage(s) ? 1 : 0,
          status: 'unknown',
          storage: s.id,
          type: 'storage',
        };
        if (!down(node) || rrdFresh(ctx, node)) {
          const u = ctx.on(node).storage.usage(s);
          Object.assign(entry, { disk: u.used, maxdisk: u.total, status: 'available' });
        }
        out.push(entry);
      }
    }
  }
  return out;
}

/**
 * pvesh runs a `/nodes/{node}/...` method for another node over ssh (`check_proxyto` and
 * `proxy_handler`, pve-manager PVE/CLI/pvesh.pm:86-145): an unknown node fails the address
 * lookup, a down one fails with ssh's own message behind `proxy handler failed:`
 * (`run_command` with `errmsg`, pve-common src/PVE/Cmd.pm:289-292, 318-322). Returns the context
 * the method runs in.
 */
function proxyTo(ctx: Ctx, node: string | undefined): Ctx {
  if (node === undefined || node === ctx.host.node || node === 'localhost') return ctx;
  if (!ctx.host.nodes().includes(node) || !ctx.host.isCluster) {
    throw new PveDie(
      `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`,
    );
  }
  if (isNodeDown(ctx.host.root, node))
    throw new PveDie(`proxy handler failed: ${sshNoRoute(nodeIpOf(ctx.host.root, node))}`);
  return ctx.on(node);
}

/** Runs the API method pvesh found for `path`; returns its result (undefined for `null`). */
export function pveshCall(caller: Ctx, method: string, template: string, path: string, p: Params): unknown {
  const ctx = proxyTo(caller, typeof p.node === 'string' ? p.node : undefined);
  ctx.sleep('read');
  if (template.includes('/firewall')) return firewallApi(ctx, method, template, p);
  if (method === 'GET') {
    const data = apiGet(ctx, template, p);
    if (data !== NOT_SERVED) return data;
  }
  void path;
  throw new SimGap(`pvesh ${method} ${template} is not simulated`);
}

const NOT_SERVED = Symbol('not served');

/** `PVE::CLIFormatter::print_api_result` for the formats the simulator prints. */
export function printApiResult(ctx: Ctx, data: unknown, p: Params): void {
  const fmt = (p['output-format'] as string | undefined) ?? 'text';
  if (fmt === 'json') ctx.out(`${canonicalJson(data)}\n`);
  else if (fmt === 'json-pretty') ctx.out(`${canonicalJson(data, true)}\n`);
  else if (typeof data !== 'object' || data === null) ctx.out(`${String(data)}\n`);
  else if (fmt === 'text') throw new SimGap('pvesh text tables are not reproduced; use --output-format json');
  else throw new SimGap(`pvesh --output-format ${fmt} is not reproduced`);
}

/**
 * `pvesh ls`: the children the GET's child link names (`extract_children`, sorted by the link
 * property) with their capabilities (`resource_cap`: `D`/`-` has a child link, `r` GET, `w` PUT,
 * `c` POST, `d` DELETE), as a borderless, headerless table (pve-manager PVE/CLI/pvesh.pm:130-220, 455-500).
 */
export function printChildren(ctx: Ctx, path: string, link: string, data: unknown, p: Params): void {
  const prop = /^\{(\S+)\}$/.exec(link)?.[1];
  const list = Array.isArray(data) && prop ? (data as Array<Record<string, unknown>>) : [];
  const names = list.map((e) => String(e[prop!])).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const base = path.replace(/\/+$/, '');
  const rows = names.map((name) => {
    const child = `${base}/${name}`;
    const get = findHandler('GET', child);
    let cap = get ? (get.childLink ? 'Dr' : '-r') : '--';
    cap += findHandler('PUT', child) ? 'w' : '-';
    cap += findHandler('POST', child) ? 'c' : '-';
    cap += findHandler('DELETE', child) ? 'd' : '-';
    return { capabilities: cap, name };
  });
  const fmt = (p['output-format'] as string | undefined) ?? 'text';
  if (fmt !== 'text') {
    printApiResult(ctx, rows, p);
    return;
  }
  for (const r of rows) ctx.out(`${r.capabilities}        ${r.name}\n`);
}

function apiGet(ctx: Ctx, template: string, p: Params): unknown {
  const vars = p as Record<string, string>;
  let data: unknown;
  switch (template) {
    case '/cluster/resources':
      data = resources(ctx, p.type as string | undefined);
      break;
    case '/cluster/nextid': {
      const used = new Set(ctx.host.listGuests().map((g) => g.vmid));
      if (typeof p.vmid === 'string') {
        if (used.has(Number(p.vmid))) throw new ParamError({ vmid: `VM ${p.vmid} already exists` });
        data = p.vmid;
      } else {
        let id = 100;
        while (used.has(id)) id++;
        data = String(id);
      }
      break;
    }
    case '/nodes':
      // Every node of the nodelist with `extract_node_stats` (pve-manager PVE/API2/Nodes.pm:2975-2995).
      data = resources(ctx, 'node');
      break;
    case '/version':
      data = { release: '9.1', repoid: 'simulated', version: '9.1.1' };
      break;
    case '/storage':
      data = ctx.host.allStorages().map((s) => {
        const o: Record<string, unknown> = { storage: s.id, type: s.type, digest: 'simulated' };
        for (const [k, v] of s.props) o[k] = v === '' ? 1 : v;
        return o;
      });
      break;
    case '/nodes/{node}/lxc':
    case '/nodes/{node}/qemu': {
      const kind: GuestKind = template.endsWith('lxc') ? 'lxc' : 'qemu';
      data = ctx.host
        .listGuests()
        .filter((g) => g.kind === kind && g.node === ctx.host.node)
        .map((g) => {
          const sec = guestSection(ctx, kind, g.vmid);
          return kind === 'lxc' ? lxcStatus(ctx, g.vmid, sec) : vmStatus(ctx, g.vmid, sec);
        });
      break;
    }
    case '/nodes/{node}/lxc/{vmid}/config':
    case '/nodes/{node}/qemu/{vmid}/config': {
      const kind: GuestKind = template.includes('/lxc/') ? 'lxc' : 'qemu';
      const conf = ctx.host.loadConf(kind, Number(vars.vmid));
      const sec = p.current === '1' ? conf.main : withPendingApplied(conf);
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sec.props))
        o[k] = /^\d+$/.test(v) && !/^(net|mp|scsi|ide|sata|virtio|unused)/.test(k) ? Number(v) : v;
      if (sec.description !== undefined) o.description = sec.description;
      if (kind === 'lxc' && sec.lxc.length) o.lxc = sec.lxc;
      o.digest = 'simulated';
      data = o;
      break;
    }
    case '/nodes/{node}/lxc/{vmid}/status/current':
    case '/nodes/{node}/qemu/{vmid}/status/current': {
      const kind: GuestKind = template.includes('/lxc/') ? 'lxc' : 'qemu';
      const vmid = Number(vars.vmid);
      const sec = guestSection(ctx, kind, vmid);
      data =
        kind === 'lxc'
          ? lxcStatus(ctx, vmid, sec)
          : { ...vmStatus(ctx, vmid, sec), qmpstatus: ctx.host.runtime(vmid).status };
      break;
    }
    case '/nodes/{node}/lxc/{vmid}/snapshot':
    case '/nodes/{node}/qemu/{vmid}/snapshot': {
      const kind: GuestKind = template.includes('/lxc/') ? 'lxc' : 'qemu';
      const conf = ctx.host.loadConf(kind, Number(vars.vmid));
      const list: Array<Record<string, unknown>> = Object.entries(conf.snapshots).map(([name, s]) => {
        const o: Record<string, unknown> = { name, description: s.description ?? '' };
        if (s.props.snaptime) o.snaptime = Number(s.props.snaptime);
        if (s.props.parent) o.parent = s.props.parent;
        return o;
      });
      const cur: Record<string, unknown> = {
        name: 'current',
        description: 'You are here!',
        digest: 'simulated',
      };
      if (conf.main.props.parent) cur.parent = conf.main.props.parent;
      if (kind === 'lxc' || kind === 'qemu') cur.running = ctx.host.isRunning(Number(vars.vmid)) ? 1 : 0;
      list.push(cur);
      data = list;
      break;
    }
    case '/nodes/{node}/storage':
      data = storageStatus(ctx, p);
      break;
    case '/nodes/{node}/storage/{storage}/content':
      data = storageContentList(ctx, vars.storage!, p);
      break;
    case '/nodes/{node}/tasks':
      pvestatdSweep(ctx.host, ctx.env.speed);
      data = nodeTasks(ctx.host, p);
      break;
    case '/nodes/{node}/tasks/{upid}/status':
      data = taskStatus(ctx.host, vars.upid!);
      break;
    default:
      return NOT_SERVED;
  }
  return data;
}

export function storageStatus(ctx: Ctx, p: Params): Array<Record<string, unknown>> {
  return ctx.host
    .storages()
    .filter((s) => (typeof p.storage === 'string' ? s.id === p.storage : true))
    .filter((s) => (typeof p.content === 'string' ? storageContent(s).includes(p.content) : true))
    .map((s) => {
      const u = ctx.storage.usage(s);
      return {
        active: 1,
        avail: u.avail,
        content: storageContent(s).sort().join(','),
        enabled: 1,
        shared: isSharedStorage(s) ? 1 : 0,
        storage: s.id,
        total: u.total,
        type: s.type,
        used: u.used,
        used_fraction: u.used / u.total,
      };
    });
}

/** Placeholder files stand for real ones: a ~135 MiB template, a 3.5 GiB cloud image. [GUESS sizes] */
export function placeholderSize(content: string, size: number): number {
  if (size >= 1024 * 1024) return size;
  if (content === 'import' || content === 'iso') return 3584 * 1024 * 1024;
  if (content === 'vztmpl') return 141_613_926;
  return size;
}

export function storageContentList(ctx: Ctx, sid: string, p: Params): Array<Record<string, unknown>> {
  const s = ctx.storage.get(sid);
  const out: Array<Record<string, unknown>> = [];
  const content = storageContent(s);
  for (const c of ['vztmpl', 'iso', 'import', 'snippets', 'backup'] as const) {
    if (!content.includes(c)) continue;
    for (const f of ctx.storage.files(s, c)) {
      out.push({
        content: c,
        format: f.format,
        size: placeholderSize(c, f.size),
        volid: `${sid}:${c}/${f.name}`,
      });
    }
  }
  const owners = new Map<string, GuestKind>();
  for (const g of ctx.host.listGuests()) owners.set(String(g.vmid), g.kind);
  for (const [name, v] of Object.entries(ctx.storage.registry(sid).volumes)) {
    const kind = owners.get(String(v.vmid));
    const c = v.format === 'subvol' || (kind === 'lxc' && !name.includes('cloudinit')) ? 'rootdir' : 'images';
    out.push({ content: c, format: v.format, size: v.size, vmid: v.vmid, volid: `${sid}:${name}` });
  }
  return out
    .filter((e) => (typeof p.content === 'string' ? e.content === p.content : true))
    .filter((e) => (typeof p.vmid === 'string' ? String(e.vmid) === p.vmid : true));
}

/** `pvesm status` (pve-storage PVE/CLI/pvesm.pm `$print_status`). */
export function pvesmStatus(ctx: Ctx, p: Params): void {
  ctx.sleep('read');
  if (typeof p.storage === 'string' && !ctx.host.storage(p.storage)) {
    throw new PveDie(`storage '${p.storage}' does not exist`);
  }
  const rows = storageStatus(ctx, p).sort((a, b) => (String(a.storage) < String(b.storage) ? -1 : 1));
  const maxlen = Math.max(0, ...rows.map((r) => String(r.storage).length)) + 1;
  const line = (cols: string[]): string =>
    `${cols[0]!.padEnd(maxlen)} ${cols[1]!.padStart(10)} ${cols[2]!.padStart(10)} ${cols[3]!.padStart(15)} ${cols[4]!.padStart(15)} ${cols[5]!.padStart(15)} ${cols[6]!.padStart(8)}\n`;
  ctx.out(line(['Name', 'Type', 'Status', 'Total (KiB)', 'Used (KiB)', 'Available (KiB)', '%']));
  for (const r of rows) {
    const kib = (v: unknown): string => String(Math.trunc(Number(v) / 1024));
    const per = `${((Number(r.used) * 100) / Number(r.total)).toFixed(2).padStart(7)}%`;
    ctx.out(
      line([String(r.storage), String(r.type), 'active', kib(r.total), kib(r.used), kib(r.avail), per]),
    );
  }
}

/** `pvesm list <storage>` (pve-storage PVE/CLI/pvesm.pm `$print_content`). */
export function pvesmList(ctx: Ctx, p: Params): void {
  ctx.sleep('read');
  const rows = storageContentList(ctx, p.storage as string, p);
  const maxlen = Math.max(0, ...rows.map((r) => String(r.volid).length));
  const digits = String(Math.max(0, ...rows.map((r) => Number(r.size ?? 0)))).length;
  const base = (r: Record<string, unknown>): string =>
    `${String(r.volid).padEnd(maxlen)} ${String(r.format).padEnd(7)} ${String(r.content).padEnd(9)} ${String(r.size ?? '-').padStart(digits)}`;
  ctx.out(`${base({ volid: 'Volid', format: 'Format', content: 'Type', size: 'Size' })} VMID\n`);
  const withVmid = rows.filter((r) => r.vmid).sort((a, b) => (String(a.volid) < String(b.volid) ? -1 : 1));
  for (const r of withVmid) ctx.out(`${base(r)} ${r.vmid}\n`);
  const rest = rows
    .filter((r) => !r.vmid)
    .sort((a, b) => (String(a.format) < String(b.format) ? -1 : String(a.format) > String(b.format) ? 1 : 0));
  for (const r of rest) ctx.out(`${base(r)}\n`);
}
