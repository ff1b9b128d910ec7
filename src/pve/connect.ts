// Which host a run talks to: the simulator (`--sim`), a remote node over ssh (`--host`) or this
// machine; for a config that declares `nodes`, one runner per node (one SSH master connection
// each), so a guest's commands go to its own node. The environment is read by the caller (the
// CLI edge) and passed in.

import type { Result } from '../dsl/diagnostics.js';
import { Host } from './host.js';
import { type CallCounter, type CommandRunner, localRunner, SshRunner, simRunner } from './runner.js';
import { controlDir, parseHostUrl, type SshSettings } from './ssh.js';

export interface HostChoice {
  sim?: boolean;
  simStrict?: boolean;
  /** `ssh://root@pve1[:port]`. */
  host?: string;
}

export interface HostEnv {
  /** The simulator's state folder (absolute). */
  simRoot: string;
  /** An ssh config file for remote hosts (`ssh -F`). */
  sshConfig?: string;
  /** The user's runtime folder (XDG_RUNTIME_DIR), where ssh control sockets go. */
  runtimeDir?: string;
  /** Another build of the simulator's commands (PHOENIX_SIM_BIN). */
  simBin?: string;
  /**
   * The simulator's speed (PHOENIX_SIM_SPEED, only when set): Phoenix's own waits scale alike
   * (cli/engine.ts `hostSleep`), on an ssh host too (the simulator behind a test sshd).
   */
  simSpeed?: number;
}

export const usesSim = (choice: HostChoice): boolean => !!(choice.sim || choice.simStrict);

function sshSettings(env: HostEnv): Result<SshSettings, string> {
  const dir = controlDir(env.runtimeDir);
  if (!dir.ok) return dir;
  return {
    ok: true,
    value: { controlDir: dir.value, ...(env.sshConfig ? { configFile: env.sshConfig } : {}) },
  };
}

/**
 * The host of a run. `nodes` (the config's declared cluster nodes → URL) makes it a cluster host:
 * with `--sim` every node is a simulated node of one simulator root; else `local` is this machine
 * and an ssh URL that node.
 */
export function connect(
  choice: HostChoice,
  env: HostEnv,
  nodes?: Record<string, string>,
): Result<Host, string> {
  if (choice.host && usesSim(choice)) return { ok: false, error: '--host and --sim exclude each other' };
  if (nodes && Object.keys(nodes).length) {
    if (choice.host)
      return {
        ok: false,
        error:
          '--host and a config that declares `nodes` exclude each other (the config says how to reach each node)',
      };
    return connectCluster(choice, env, nodes);
  }
  if (usesSim(choice)) return { ok: true, value: new Host(simRunner(env.simRoot, {}, env.simBin)) };
  if (choice.host) {
    const target = parseHostUrl(choice.host);
    if (!target.ok) return target;
    const settings = sshSettings(env);
    if (!settings.ok) return settings;
    return { ok: true, value: new Host(new SshRunner(target.value, settings.value)) };
  }
  return { ok: true, value: new Host(localRunner()) };
}

function connectCluster(
  choice: HostChoice,
  env: HostEnv,
  nodes: Record<string, string>,
): Result<Host, string> {
  // One counter for all nodes: a run's host calls are counted once, whichever node served them.
  const calls: CallCounter = { reads: 0, writes: 0 };
  const runners = new Map<string, CommandRunner>();
  let settings: SshSettings | undefined;
  for (const [node, url] of Object.entries(nodes)) {
    if (usesSim(choice)) {
      runners.set(node, simRunner(env.simRoot, {}, env.simBin, node, calls));
      continue;
    }
    if (url === '' || url === 'local') {
      runners.set(node, localRunner(calls));
      continue;
    }
    const target = parseHostUrl(url);
    if (!target.ok) return { ok: false, error: `nodes.${node}: ${target.error}` };
    if (!settings) {
      const s = sshSettings(env);
      if (!s.ok) return s;
      settings = s.value;
    }
    runners.set(node, new SshRunner(target.value, settings, undefined, calls));
  }
  const first = runners.values().next().value as CommandRunner;
  return { ok: true, value: new Host(first, runners) };
}
