// The cluster host: one runner per node (commands for a guest go to its node, paths map as the
// simulator keeps each node), one call counter for the run, and one build lock for the whole
// cluster in /etc/pve, so two builds through two nodes refuse each other.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/pve/connect.js';
import { CLUSTER_LOCK, Host } from '../../src/pve/host.js';
import { type CommandRunner, SshRunner, simRunner } from '../../src/pve/runner.js';
import { ensureSimHost } from '../../src/sim/init.js';
import { tempDir } from '../engine/helpers.js';

const NODES = { pve1: 'local', pve2: 'local', pve3: 'local' };

function cluster(simRoot: string, nodes: Record<string, string> = NODES): Host {
  const r = connect({ sim: true }, { simRoot }, nodes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('cluster host', () => {
  it('runs a guest node’s commands on that node', async () => {
    const h = cluster(tempDir('phoenix-cluster-'));
    expect(h.nodeNames).toEqual(['pve1', 'pve2', 'pve3']);
    const r = await h.on('pve2').read('sh', ['-c', 'echo "$PHOENIX_SIM_NODE"']);
    expect(r.stdout.trim()).toBe('pve2');
    expect(h.on('pve2')).toBe(h.on('pve2'));
  });

  it('maps /etc/pve to the one shared copy and other paths to the node’s own folder', () => {
    const root = tempDir('phoenix-cluster-');
    const h = cluster(root);
    expect(h.on('pve2').runner.mapPath('/etc/pve/storage.cfg')).toBe(path.join(root, 'etc/pve/storage.cfg'));
    expect(h.on('pve2').runner.mapPath('/etc/pve/lxc/103.conf')).toBe(
      path.join(root, 'etc/pve/nodes/pve2/lxc/103.conf'),
    );
    expect(h.on('pve3').runner.mapPath('/etc/pve/local')).toBe(path.join(root, 'etc/pve/nodes/pve3'));
    expect(h.on('pve3').runner.mapPath('/var/tmp/phoenix/x.sh')).toBe(
      path.join(root, 'fs/pve3/var/tmp/phoenix/x.sh'),
    );
  });

  it('counts every node’s calls in one counter', async () => {
    const h = cluster(tempDir('phoenix-cluster-'));
    await h.on('pve1').read('true', []);
    await h.on('pve3').run('true', []);
    expect(h.runner.calls).toEqual({ reads: 1, writes: 1 });
  });

  it('keeps a host without nodes on its single node', () => {
    const root = tempDir('phoenix-single-');
    const r = connect({ sim: true }, { simRoot: root });
    expect(r.ok && r.value.nodeNames).toEqual([]);
    expect(r.ok && r.value.on('pve2')).toBe(r.ok && r.value);
    expect(r.ok && r.value.lockPath).toBe('/run/lock/phoenix-build.lock');
  });
});

describe('cluster state read', () => {
  it('reads the whole cluster from the first node that answers, noting the one that did not', async () => {
    const root = tempDir('phoenix-cluster-read-');
    ensureSimHost(root, { storages: [], templates: [] }, false);
    const calls = { reads: 0, writes: 0 };
    const runners = new Map<string, CommandRunner>([
      // Nothing listens on port 1: ssh fails as it does for a node that is down.
      [
        'pve1',
        new SshRunner(
          { user: 'root', host: '127.0.0.1', port: 1 },
          { controlDir: root },
          { attempts: 1, delayMs: 0 },
          calls,
        ),
      ],
      ['pve', simRunner(root, {}, undefined, undefined, calls)],
    ]);
    const h = new Host(runners.get('pve1')!, runners);
    const r = await h.readState({ nodes: ['pve'], listContent: [] });
    expect(r.ok && r.value.nodes).toEqual(['pve']);
    expect([...h.downNodes.keys()]).toEqual(['pve1']);
  });
});

describe('cluster-wide build lock', () => {
  it('refuses a second build through another node, naming the first', async () => {
    const root = tempDir('phoenix-cluster-lock-');
    const first = cluster(root);
    // Another config of the same cluster that reaches it through pve2 first.
    const second = cluster(root, { pve2: 'local', pve1: 'local' });
    expect(await first.acquireLock()).toEqual({ ok: true, value: {} });
    const refused = await second.acquireLock();
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error).toContain(
        `another build holds ${CLUSTER_LOCK} on the cluster (taken through node pve1)`,
      );
      expect(refused.error).toContain(`pid ${process.pid} on ${hostname()}`);
    }
    await first.releaseLock();
    expect(await second.acquireLock()).toEqual({ ok: true, value: {} });
    const owner = JSON.parse(readFileSync(path.join(root, CLUSTER_LOCK), 'utf8'));
    expect(owner.node).toBe('pve2');
  });

  it('takes over the cluster lock of a dead process of this machine', async () => {
    const root = tempDir('phoenix-cluster-lock-');
    const file = path.join(root, CLUSTER_LOCK);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), start: 'then', node: 'pve3' }),
    );
    const r = await cluster(root).acquireLock();
    expect(r).toMatchObject({
      ok: true,
      value: { note: expect.stringMatching(/took over the build lock of process \d+/) },
    });
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
  });

  it('refuses the lock of a live build on another machine, whichever node is asked', async () => {
    const root = tempDir('phoenix-cluster-lock-');
    const file = path.join(root, CLUSTER_LOCK);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'laptop-of-someone', start: 'then', node: 'pve3' }));
    const r = await cluster(root, { pve2: 'local' }).acquireLock();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('taken through node pve3): pid 1 on laptop-of-someone');
  });
});
