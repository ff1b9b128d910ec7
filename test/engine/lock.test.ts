import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_LOCK, Host } from '../../src/pve/host.js';
import { LocalRunner } from '../../src/pve/runner.js';
import { tempDir } from './helpers.js';

function host() {
  const root = tempDir('phoenix-lock-');
  return { root, host: new Host(new LocalRunner('test', root)), file: path.join(root, BUILD_LOCK) };
}

describe('host-side build lock', () => {
  it('refuses a second build while the first holds it', async () => {
    const { host: h } = host();
    expect(await h.acquireLock()).toEqual({ ok: true, value: {} });
    const second = await h.acquireLock();
    expect(second.ok).toBe(false);
    if (!second.ok)
      expect(second.error).toMatch(/another build holds \/run\/lock\/phoenix-build.lock .* pid \d+ on /);
    await h.releaseLock();
    expect((await h.acquireLock()).ok).toBe(true);
  });

  it('takes over the lock of a dead process, with a message', async () => {
    const { host: h, file } = host();
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), start: 'then' }));
    const r = await h.acquireLock();
    expect(r).toMatchObject({ ok: true });
    if (r.ok) expect(r.value.note).toMatch(/took over the build lock of process \d+, which is gone/);
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
  });

  it('a damaged lock file is taken over', async () => {
    const { host: h, file } = host();
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'garbage');
    const r = await h.acquireLock();
    expect(r.ok).toBe(true);
  });
});
