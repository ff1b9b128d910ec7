import { describe, expect, it } from 'vitest';
import { commandFailure, guestLocked, isTransient } from '../../src/pve/failure.js';

const died = (stderr: string, exitCode = 255) => ({ exitCode, stdout: '', stderr });

describe('why a host command failed', () => {
  it('is nothing when the command exited 0', () => {
    expect(commandFailure({ exitCode: 0, stdout: 'ok', stderr: 'got timeout' })).toBeUndefined();
  });

  it('is a transient lock when Proxmox timed out on the config lock', () => {
    const f = commandFailure(
      died("trying to acquire lock...\ncan't lock file '/run/lock/lxc/pve-config-103.lock' - got timeout\n"),
    );
    expect(f).toEqual({ kind: 'locked' });
    expect(isTransient(f!)).toBe(true);
  });

  it('is a transient lock when a clone or creation holds the guest, naming the lock', () => {
    expect(commandFailure(died('CT is locked (disk)\n'))).toEqual({ kind: 'locked', lock: 'disk' });
    expect(commandFailure(died('VM is locked (clone)\n'))).toEqual({ kind: 'locked', lock: 'clone' });
  });

  it('is a refusal, not retried, when a lock an operator must clear is held', () => {
    const f = commandFailure(died('CT is locked (backup)\n'));
    expect(f).toEqual({ kind: 'refused', exitCode: 255 });
    expect(isTransient(f!)).toBe(false);
  });

  it('is a refusal when the API rejected the parameters', () => {
    expect(
      commandFailure(died('400 Parameter verification failed.\nmemory: value must be at least 16\n')),
    ).toEqual({
      kind: 'refused',
      exitCode: 255,
    });
  });

  it('is a transport failure when ssh could not reach the host, whatever Proxmox would have said', () => {
    expect(commandFailure(died('ssh: connect to host pve2 port 22: No route to host\n'))).toEqual({
      kind: 'transport',
    });
    expect(commandFailure({ ...died('ssh to pve failed: x\n'), transport: 'Connection closed' })).toEqual({
      kind: 'transport',
    });
  });

  it('is a kill when a signal ended the command', () => {
    expect(commandFailure({ exitCode: 137, stdout: '', stderr: '', signal: 'SIGKILL' })).toEqual({
      kind: 'killed',
      signal: 'SIGKILL',
    });
  });

  it('is a failed task when the command ran and failed', () => {
    expect(commandFailure(died('unable to create CT 103 - no such storage\n'))).toEqual({
      kind: 'task-failed',
      exitCode: 255,
    });
  });

  it('a guest found locked by a running task is worth waiting for; a leftover lock is not', () => {
    expect(isTransient(guestLocked('create'))).toBe(true);
    expect(isTransient(guestLocked('migrate'))).toBe(false);
  });
});
