// Which host a run talks to: the simulator (`--sim`), a remote node over ssh (`--host`) or this
// machine. The environment is read by the caller (the CLI edge) and passed in.

import type { Result } from '../dsl/diagnostics.js';
import { Host } from './host.js';
import { localRunner, SshRunner, simRunner } from './runner.js';
import { controlDir, parseHostUrl } from './ssh.js';

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

export function connect(choice: HostChoice, env: HostEnv): Result<Host, string> {
  if (choice.host && usesSim(choice)) return { ok: false, error: '--host and --sim exclude each other' };
  if (usesSim(choice)) return { ok: true, value: new Host(simRunner(env.simRoot, {}, env.simBin)) };
  if (choice.host) {
    const target = parseHostUrl(choice.host);
    if (!target.ok) return target;
    const dir = controlDir(env.runtimeDir);
    if (!dir.ok) return dir;
    const settings = { controlDir: dir.value, ...(env.sshConfig ? { configFile: env.sshConfig } : {}) };
    return { ok: true, value: new Host(new SshRunner(target.value, settings)) };
  }
  return { ok: true, value: new Host(localRunner()) };
}
