// Fake `zfs` for the simulated host: datasets under the zfspool storages. Dataset mountpoints
// are host paths; their folders live inside the state folder. (chown, mkdir, stat: hostfs.ts.)
import { mkdirSync, rmSync } from 'node:fs';
import { storageProp } from '../pve/format/index.js';
import type { Ctx } from './context.js';
import { readJson, writeJson } from './io.js';
import { withStateLock } from './lock.js';

interface ZfsState {
  datasets: Record<string, Record<string, string>>;
}

function zfsStatePath(ctx: Ctx): string {
  return ctx.host.nodeSimPath('zfs.json');
}

/** All datasets: pools of zfspool storages (and their parents), guest volumes, created ones. */
function datasets(ctx: Ctx): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const addWithParents = (name: string, props: Record<string, string> = {}): void => {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!out.has(parent)) out.set(parent, {});
    }
    out.set(name, { ...(out.get(name) ?? {}), ...props });
  };
  for (const s of ctx.host.storages()) {
    if (s.type !== 'zfspool') continue;
    const pool = storageProp(s, 'pool');
    if (!pool) continue;
    addWithParents(pool);
    for (const [volname, v] of Object.entries(ctx.storage.registry(s.id).volumes)) {
      const own = volname.split('/').pop()!;
      addWithParents(
        `${pool}/${own}`,
        v.format === 'subvol' ? { refquota: String(v.size) } : { volsize: String(v.size), type: 'volume' },
      );
    }
  }
  for (const [name, props] of Object.entries(
    readJson<ZfsState>(zfsStatePath(ctx), { datasets: {} }).datasets,
  )) {
    addWithParents(name, props);
  }
  return out;
}

function mountpoint(name: string, props: Record<string, string>): string {
  if (props.type === 'volume') return '-';
  return props.mountpoint ?? `/${name}`;
}

function prop(name: string, props: Record<string, string>, key: string): string {
  switch (key) {
    case 'name':
      return name;
    case 'mountpoint':
      return mountpoint(name, props);
    case 'type':
      return props.type === 'volume' ? 'volume' : 'filesystem';
    case 'used':
    case 'refer':
      return '96K';
    case 'avail':
    case 'available':
      return '800G';
    default:
      return props[key] ?? '-';
  }
}

export function zfsMain(ctx: Ctx, argv: string[]): void {
  const [sub, ...rest] = argv;
  const fail = (msg: string, code = 1): void => {
    ctx.io.err(`${msg}\n`);
    ctx.exit = code;
  };
  const opts: Record<string, string[]> = {};
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (/^-[oOtsd]$/.test(a)) {
      const list = opts[a] ?? [];
      list.push(rest[++i] ?? '');
      opts[a] = list;
    } else if (/^-[A-Za-z]+$/.test(a)) {
      for (const c of a.slice(1)) opts[`-${c}`] = ['1'];
    } else args.push(a);
  }
  const path = zfsStatePath(ctx);
  const mutate = (fn: (st: ZfsState) => void): void =>
    withStateLock(ctx.io, path, () => {
      const st = readJson<ZfsState>(path, { datasets: {} });
      fn(st);
      writeJson(path, st);
    });
  switch (sub) {
    case 'create': {
      const name = args[0];
      if (!name) {
        fail('missing dataset argument', 2);
        return;
      }
      const all = datasets(ctx);
      if (all.has(name)) {
        fail(`cannot create '${name}': dataset already exists`);
        return;
      }
      const parent = name.split('/').slice(0, -1).join('/');
      if (parent && !all.has(parent) && !opts['-p']) {
        fail(`cannot create '${name}': parent does not exist`);
        return;
      }
      const props: Record<string, string> = {};
      for (const o of opts['-o'] ?? []) {
        const eq = o.indexOf('=');
        if (eq > 0) props[o.slice(0, eq)] = o.slice(eq + 1);
      }
      if (opts['-V']) props.type = 'volume';
      mutate((st) => {
        st.datasets[name] = props;
      });
      if (props.type !== 'volume') mkdirSync(ctx.host.hostPath(mountpoint(name, props)), { recursive: true });
      return;
    }
    case 'list': {
      const all = datasets(ctx);
      const cols = (opts['-o']?.[0] ?? 'name,used,avail,refer,mountpoint').split(',');
      let names = [...all.keys()].sort();
      if (args.length) {
        for (const a of args)
          if (!all.has(a)) {
            fail(`cannot open '${a}': dataset does not exist`);
            return;
          }
        names = names.filter((n) => args.some((a) => n === a || (opts['-r'] && n.startsWith(`${a}/`))));
      }
      const rows = names.map((n) => cols.map((c) => prop(n, all.get(n)!, c)));
      if (opts['-H']) {
        for (const r of rows) ctx.out(`${r.join('\t')}\n`);
        return;
      }
      const table = [cols.map((c) => c.toUpperCase()), ...rows];
      const widths = cols.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table)
        ctx.out(`${r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')}\n`);
      return;
    }
    case 'get': {
      const all = datasets(ctx);
      const [keys, ...names] = args;
      if (!keys) {
        fail('missing property argument', 2);
        return;
      }
      for (const n of names) {
        const props = all.get(n);
        if (!props) {
          fail(`cannot open '${n}': dataset does not exist`);
          return;
        }
        for (const k of keys.split(',')) {
          const v = prop(n, props, k);
          if (opts['-H'])
            ctx.out(
              `${(opts['-o']?.[0] ?? 'name,property,value,source')
                .split(',')
                .map((c) => (c === 'name' ? n : c === 'property' ? k : c === 'value' ? v : 'local'))
                .join('\t')}\n`,
            );
          else ctx.out(`NAME  PROPERTY  VALUE  SOURCE\n${n}  ${k}  ${v}  local\n`);
        }
      }
      return;
    }
    case 'set': {
      const [kv, name] = args;
      const eq = kv?.indexOf('=') ?? -1;
      if (!kv || eq < 1 || !name) {
        fail('missing arguments', 2);
        return;
      }
      if (!datasets(ctx).has(name)) {
        fail(`cannot open '${name}': dataset does not exist`);
        return;
      }
      mutate((st) => {
        st.datasets[name] = { ...(st.datasets[name] ?? {}), [kv.slice(0, eq)]: kv.slice(eq + 1) };
      });
      return;
    }
    case 'destroy': {
      const name = args[0];
      if (!name) {
        fail('missing dataset argument', 2);
        return;
      }
      const all = datasets(ctx);
      if (!all.has(name)) {
        fail(`cannot open '${name}': dataset does not exist`);
        return;
      }
      const children = [...all.keys()].filter((n) => n.startsWith(`${name}/`));
      if (children.length && !opts['-r']) {
        fail(
          `cannot destroy '${name}': filesystem has children\nuse '-r' to destroy the following datasets:\n${children.join('\n')}`,
        );
        return;
      }
      mutate((st) => {
        for (const n of Object.keys(st.datasets))
          if (n === name || n.startsWith(`${name}/`)) delete st.datasets[n];
      });
      rmSync(ctx.host.hostPath(mountpoint(name, all.get(name)!)), { recursive: true, force: true });
      return;
    }
    default: {
      fail(`unrecognized command '${sub ?? ''}'`, 2);
      return;
    }
  }
}
