// The bundle cache: a config that has not changed since the last load is imported from the bundle
// made then, without starting esbuild (which costs more than everything else a load does).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle } from './bundle.js';

// Kept in `.phoenix/cache/` beside the config, valid while every input file has the same content hash.
// Bundle files are named by content so a changed config is never served from Node's module cache.
const CACHE_VERSION = 2; // 2: bundles carry an inline source map

interface CacheEntry {
  version: number;
  inputs: { path: string; sha1: string }[];
  bundle: string;
}

const sha1 = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');

function cachePaths(file: string) {
  const dir = path.join(path.dirname(file), '.phoenix', 'cache');
  const key = `config-${sha1(file).slice(0, 12)}`;
  return { dir, key, index: path.join(dir, `${key}.json`) };
}

export function cachedBundle(file: string): string | undefined {
  try {
    const { dir, index } = cachePaths(file);
    const entry = JSON.parse(fs.readFileSync(index, 'utf8')) as CacheEntry;
    if (entry.version !== CACHE_VERSION) return undefined;
    for (const input of entry.inputs) {
      if (sha1(fs.readFileSync(input.path)) !== input.sha1) return undefined;
    }
    const bundleFile = path.join(dir, entry.bundle);
    return fs.existsSync(bundleFile) ? bundleFile : undefined;
  } catch {
    return undefined; // no cache, or a damaged one: bundle afresh
  }
}

/** Stores the bundle; returns its path, or undefined when the folder cannot be written. */
export function storeBundle(file: string, b: Bundle): string | undefined {
  try {
    const { dir, key, index } = cachePaths(file);
    fs.mkdirSync(dir, { recursive: true });
    const name = `${key}-${sha1(b.code).slice(0, 12)}.mjs`;
    const bundleFile = path.join(dir, name);
    if (!fs.existsSync(bundleFile)) {
      const tmp = `${bundleFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, b.code);
      fs.renameSync(tmp, bundleFile);
    }
    const entry: CacheEntry = {
      version: CACHE_VERSION,
      inputs: b.inputs.map((p) => ({ path: p, sha1: sha1(fs.readFileSync(p)) })),
      bundle: name,
    };
    const tmp = `${index}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(entry));
    fs.renameSync(tmp, index);
    // Bundles of earlier versions of this config are no longer reachable.
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(`${key}-`) && f.endsWith('.mjs') && f !== name)
        fs.rmSync(path.join(dir, f), { force: true });
    }
    return bundleFile;
  } catch {
    return undefined;
  }
}

/**
 * A result computed from the config file's text alone (the duplicate-key scan), kept beside the
 * bundle and reused while the text is the same: a large fleet's config costs a full tokenizer
 * pass otherwise, on every run.
 */
export function cachedByText<T>(file: string, text: string, kind: string, compute: () => T): T {
  const { dir, key } = cachePaths(file);
  const at = path.join(dir, `${key}-${kind}.json`);
  const digest = sha1(text);
  try {
    const entry = JSON.parse(fs.readFileSync(at, 'utf8')) as { version: number; sha1: string; value: T };
    if (entry.version === CACHE_VERSION && entry.sha1 === digest) return entry.value;
  } catch {
    // none yet, or damaged: compute
  }
  const value = compute();
  try {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${at}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: CACHE_VERSION, sha1: digest, value }));
    fs.renameSync(tmp, at);
  } catch {
    // a read-only folder: no cache
  }
  return value;
}
