// Injection: config values carrying shell metacharacters, newlines and quotes
// either are rejected by validation (names, snapshot names, bridges, tags...) or reach Proxmox as
// literal argument elements (descriptions, feature and app arguments, mount paths) — checked on
// the simulator's call log, which records each command's argv exactly as it arrived. Files
// Phoenix writes itself (raw `lxc.*` lines of a guest conf, the guest firewall, the NFS mount
// script) must not let a value add a line of its own. Over SSH, the one place a command line is
// built for a shell, the quoting is run through a real `sh` (a fake `ssh` on PATH does what sshd
// does: hands the joined words to `sh -c`), never over the network.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/dsl/load.js';
import type { VmGuest } from '../../src/dsl/model.js';
import { shellQuote } from '../../src/pve/quote.js';
import { SshRunner } from '../../src/pve/runner.js';
import { nfsScript } from '../../src/targets/provision.js';
import { type Call, callLog, phoenix, ROOT, type Run } from './cli.js';

/**
 * Tests of bugs not fixed yet run as `it.fails` (the suite turns red the day one is fixed);
 * PHOENIX_KNOWN_BUGS=run runs them as ordinary tests, to see each failure's reason.
 */
const knownBug = process.env.PHOENIX_KNOWN_BUGS === 'run' ? it : it.fails;

// Each test spawns whole builds; a loaded `npm test` on two cores can make one take minutes.
vi.setConfig({ testTimeout: 300_000 });

const work = mkdtempSync(path.join(tmpdir(), 'phoenix-injection-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A canary: running any of these payloads in a shell creates a file under `work/pwned/`. */
const pwned = path.join(work, 'pwned');
const sub = (n: string) => `$(touch ${pwned}/${n})`;
const tick = (n: string) => `\`touch ${pwned}/${n}\``;
const canaries = () => (existsSync(pwned) ? readdirSync(pwned) : []);

const DESCRIPTION = `notes ${sub('desc')} ${tick('desc2')} ; rm -rf / && echo 'single' "double" \\ back\nsecond line %41 # not a comment`;
const FEATURE_ARGS = [
  sub('farg'),
  `--url=https://ca.example:9000/${tick('farg2')}`,
  "it's",
  'a"b',
  'x; y',
  'l1\nl2',
  '',
  '-',
];
const DECL_ARGS = ['--opt=$HOME', '*', '~root', '>out', '|cat'];
const APP_ARGS = [tick('app'), '$(id)', "'", '\\'];
const HOST_PATH = `/srv/data ${sub('mount')} it's`;
const SCRIPT_MARK = 'PHOENIX-SCRIPT-BODY-7f3a';

function writeProject(dir: string, guests: string, features = '') {
  mkdirSync(path.join(dir, 'features'), { recursive: true });
  mkdirSync(path.join(dir, 'apps'), { recursive: true });
  writeFileSync(path.join(dir, 'features', 'base.sh'), `#!/bin/bash\necho ${SCRIPT_MARK}-feature\n`);
  writeFileSync(path.join(dir, 'apps', 'app.sh'), `#!/bin/bash\necho ${SCRIPT_MARK}-app\n`);
  writeFileSync(
    path.join(dir, 'phoenix.config.mjs'),
    `import { defineConfig, lxc, vm } from 'phoenix-pve';
export default defineConfig({
  storages: {
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
    'local-lvm': { type: 'lvmthin', content: ['rootdir', 'images'] },
  },
  features: { base: { script: 'features/base.sh', args: ${JSON.stringify(DECL_ARGS)} }${features} },
  guests: {
${guests}
  },
});
`,
  );
}

const CT = (extra: string) => `    101: lxc({
      name: 'web',
      ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
      rootfs: { storage: 'local-lvm', sizeGb: 8 },
${extra}
    }),`;
const VM_TEMPLATE = `    9000: vm({
      name: 'tpl-vm',
      template: true,
      image: 'local:import/noble-server-cloudimg-amd64.qcow2',
      storage: 'local-lvm',
      bridge: 'vmbr0',
      cloudInit: { user: 'phoenix' },
    }),`;

interface Built {
  dir: string;
  simRoot: string;
  run: Run;
  calls: Call[];
}

async function build(name: string, guests: string, args: string[] = []): Promise<Built> {
  const dir = path.join(work, name);
  writeProject(dir, guests);
  const simRoot = path.join(dir, '.phoenix', 'sim');
  const run = await phoenix(['build', '--sim', '--keep-going', '--config', 'phoenix.config.mjs', ...args], {
    cwd: dir,
    env: { PHOENIX_SIM_ROOT: simRoot, PHOENIX_SIM_AGENT_DELAY: '0', PHOENIX_RETRY_BASE_MS: '10' },
  });
  return { dir, simRoot, run, calls: callLog(simRoot) };
}

/** What ran in a guest (the simulator's per-guest exec log, with the stdin a command read). */
function guestExecs(b: Built, vmid: number): Array<{ cmd: string[]; stdin?: string }> {
  const file = path.join(b.simRoot, 'sim/guests', String(vmid), 'exec.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { cmd: string[]; stdin?: string });
}

const conf = (b: Built, vmid: number, kind = 'lxc') =>
  readFileSync(
    path.join(b.simRoot, 'etc/pve/nodes/pve', kind === 'lxc' ? 'lxc' : 'qemu-server', `${vmid}.conf`),
    'utf8',
  );
const find = (b: Built, cmd: string, ...prefix: string[]) =>
  b.calls.filter((c) => c.cmd === cmd && prefix.every((p, i) => c.args[i] === p));

describe('values reach Proxmox as literal arguments', () => {
  let b: Built;
  beforeAll(async () => {
    mkdirSync(pwned, { recursive: true });
    b = await build(
      'literal',
      CT(`      description: ${JSON.stringify(DESCRIPTION)},
      features: ['base'],
      featureArgs: ${JSON.stringify(FEATURE_ARGS)},
      app: { script: 'apps/app.sh', args: ${JSON.stringify(APP_ARGS)} },
      mounts: [{ hostPath: ${JSON.stringify(HOST_PATH)}, path: '/data' }],`),
    );
  }, 300_000);

  it('the build succeeds and no payload ran on the machine running Phoenix', () => {
    expect(b.run.stderr).not.toMatch(/^\s+at /m);
    expect(b.run.status, b.run.stdout + b.run.stderr).toBe(0);
    expect(canaries()).toEqual([]);
  });

  it('the description arrives as one argument, byte for byte, and the conf keeps it', () => {
    const create = find(b, 'pct', 'create', '101')[0]!;
    const i = create.args.indexOf('--description');
    expect(i).toBeGreaterThan(0);
    expect(create.args[i + 1]!.startsWith(DESCRIPTION)).toBe(true);
    // Proxmox stores Notes as `#` comment lines, URI-escaping what needs it.
    const notes = conf(b, 101)
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .map((l) => decodeURIComponent(l.slice(1)))
      .join('\n');
    expect(notes.startsWith(DESCRIPTION)).toBe(true);
  });

  /**
   * The guest argv of the `bash -s` runs in CT 101 whose script (read on stdin, as the guest's
   * exec log records it) prints `marker`.
   */
  const bashRuns = (marker: string) =>
    guestExecs(b, 101)
      .filter((e) => e.cmd[0] === 'bash' && e.cmd[1] === '-s' && (e.stdin ?? '').includes(marker))
      .map((e) => e.cmd);

  it('feature arguments (guest featureArgs, then the feature args) are separate literal argv elements', () => {
    const argv = bashRuns(`${SCRIPT_MARK}-feature`)[0];
    expect(argv, JSON.stringify(b.calls.map((c) => c.args))).toBeDefined();
    expect(argv!.slice(3)).toEqual([...FEATURE_ARGS, ...DECL_ARGS]);
  });

  it('app arguments are literal argv elements', () => {
    expect(bashRuns(`${SCRIPT_MARK}-app`)[0]!.slice(3)).toEqual(APP_ARGS);
  });

  it('a bind-mount path with metacharacters is one literal mpN value', () => {
    const set = b.calls.find((c) => c.cmd === 'pct' && c.args[0] === 'set' && c.args.includes('--mp0'))!;
    expect(set.args[set.args.indexOf('--mp0') + 1]).toBe(`${HOST_PATH},mp=/data`);
  });

  it('scripts reach bash on stdin, never as command text', () => {
    expect(bashRuns(SCRIPT_MARK).map((argv) => argv.slice(0, 3))).toEqual([
      ['bash', '-s', '--'],
      ['bash', '-s', '--'],
    ]);
    const carrying = b.calls.filter((c) => c.args.some((a) => a.includes(SCRIPT_MARK)));
    expect(carrying.map((c) => `${c.cmd} ${c.args.join(' ')}`)).toEqual([]);
  });
});

describe('values that would need a shell are rejected by validation (exit 2, host untouched)', () => {
  const cases: Array<[string, string, string]> = [
    ['hostname with $()', CT('').replace("'web'", JSON.stringify(`web${sub('name')}`)), 'guests.101.name'],
    ['hostname with a newline', CT('').replace("'web'", JSON.stringify('web\nreboot')), 'guests.101.name'],
    ['hostname with a quote', CT('').replace("'web'", JSON.stringify("we'b")), 'guests.101.name'],
    [
      'snapshot name with ;',
      CT(`      snapshots: [{ name: 'snap;reboot', after: 'config' }],`),
      'guests.101.snapshots.0.name',
    ],
    [
      'snapshot name with backticks',
      CT(`      snapshots: [{ name: ${JSON.stringify(`s${tick('snap')}`)}, after: 'config' }],`),
      'guests.101.snapshots.0.name',
    ],
    [
      'snapshot name with a newline',
      CT(`      snapshots: [{ name: 'snap\\nx', after: 'config' }],`),
      'guests.101.snapshots.0.name',
    ],
    [
      'bridge with $()',
      CT(`      net: [{ bridge: ${JSON.stringify(`vmbr0${sub('br')}`)}, ip: 'dhcp' }],`),
      'guests.101.net.0.bridge',
    ],
    ['ip with ;', CT(`      net: [{ bridge: 'vmbr0', ip: '10.0.0.5/24;reboot' }],`), 'guests.101.net.0.ip'],
    ['tag with a space and ;', CT(`      tags: ['a; reboot'],`), 'guests.101.tags.0'],
    [
      'searchdomain with a newline',
      CT(`      searchdomain: 'example.com\\nnameserver 6.6.6.6',`),
      'guests.101.searchdomain',
    ],
    ['nameserver with ;', CT(`      nameserver: '1.1.1.1;reboot',`), 'guests.101.nameserver'],
    [
      'mount point inside the guest with a newline',
      CT(`      mounts: [{ hostPath: '/srv/x', path: '/data\\nmp9: /' }],`),
      'guests.101.mounts.0.path',
    ],
    [
      'cloud-init user with $()',
      `${VM_TEMPLATE}\n    1001: vm({ name: 'app', cloneFrom: 9000, cloudInit: { user: ${JSON.stringify(`u${sub('ciuser')}`)} } }),`,
      'guests.1001.cloudInit.user',
    ],
  ];
  // Cases validation still accepts (each then reaches Proxmox literally; no shell runs it) are
  // listed here with the finding, and run as known bugs. F11 (searchdomain and mount-point line
  // breaks, cloudInit.user) is fixed in src/dsl/shape.ts.
  const LOOSE: Record<string, string> = {};
  for (const [what, guests, place] of cases) {
    const test = what in LOOSE ? knownBug.concurrent : it.concurrent;
    test(`${what}: ${place}${what in LOOSE ? ` (KNOWN BUG: ${LOOSE[what]})` : ''}`, async () => {
      const dir = path.join(work, `reject-${what.replace(/\W+/g, '-')}`);
      writeProject(dir, guests);
      const simRoot = path.join(dir, '.phoenix', 'sim');
      const r = await phoenix(['build', '--sim', '--config', 'phoenix.config.mjs'], {
        cwd: dir,
        env: { PHOENIX_SIM_ROOT: simRoot },
      });
      expect(r.status, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(place);
      expect(callLog(simRoot).filter((c) => !['pvesh'].includes(c.cmd))).toEqual([]);
    }, 300_000);
  }
});

describe('files Phoenix writes cannot be given extra lines by a value', () => {
  it('apparmor.profile with a newline adds no conf line (a host-side lxc.hook.* would run as root on the node)', async () => {
    const b = await build(
      'apparmor',
      CT(`      apparmor: { profile: 'unconfined\\nlxc.hook.pre-start: /tmp/evil.sh' },`),
    );
    if (b.run.status === 2) return; // refused by validation: fine
    expect(conf(b, 101)).not.toMatch(/^lxc\.hook/m);
  });

  it('a firewall rule comment with a newline adds no rule (refused by validation; the .fw writer refuses it too)', async () => {
    const b = await build(
      'firewall',
      CT(
        `      firewall: { rules: [{ direction: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', comment: 'ssh\\nIN ACCEPT -source 0.0.0.0/0' }] },`,
      ),
    );
    expect(b.run.stderr).not.toMatch(/^\s+at /m);
    if (b.run.status === 2) {
      expect(b.run.stderr).toContain('guests.101.firewall.rules.0.comment');
      expect(b.calls.filter((c) => c.cmd !== 'pvesh')).toEqual([]);
      return;
    }
    // Past validation, the engine must refuse to write the file rather than write the extra rule.
    const fwFile = path.join(b.simRoot, 'etc/pve/firewall/101.fw');
    const fw = existsSync(fwFile) ? readFileSync(fwFile, 'utf8') : '';
    expect(fw.split('\n').filter((l) => /^(IN|OUT) /.test(l)).length).toBeLessThanOrEqual(1);
  });

  it('rawLxc with a newline is refused, not silently dropped', async () => {
    const b = await build('rawlxc', CT(`      rawLxc: ['lxc.mount.auto: sys:rw\\nmp9: /,mp=/host'],`));
    expect(b.run.status, b.run.stdout + b.run.stderr).toBe(2);
    expect(b.run.stderr).toContain('guests.101.rawLxc.0');
    expect(b.calls.filter((c) => c.cmd !== 'pvesh')).toEqual([]);
  });

  it('an NFS mount point with a quote cannot run commands in the VM (the generated mount script, run by a real bash)', async () => {
    const mountPoint = `/mnt/a'; touch ${pwned}/nfs; echo '`;
    const b = await build(
      'nfs',
      `${VM_TEMPLATE}\n    1001: vm({ name: 'app', cloneFrom: 9000, nfsVolumes: [{ server: '10.0.0.5', export: '/data', mountPoint: ${JSON.stringify(mountPoint)} }] }),`,
    );
    if (b.run.status === 2) return;
    const exec = b.calls.find((c) => c.cmd === 'qm' && c.args[0] === 'guest' && c.args[1] === 'exec');
    expect(exec).toBeDefined();
    // The script goes to the VM on stdin (`--pass-stdin`, F7), so no argv carries it: no argument
    // holds the mount point, and the script run below is the one the engine generates for this guest.
    expect(b.calls.filter((c) => c.args.some((a) => a.includes(mountPoint)))).toEqual([]);
    const loaded = await loadConfig(path.join(b.dir, 'phoenix.config.mjs'), { cache: false });
    expect(loaded.ok).toBe(true);
    const g = loaded.ok ? loaded.value.guests.get(1001) : undefined;
    expect(g?.kind).toBe('vm');
    // Run the script the VM would run, with its system commands stubbed and fstab redirected.
    const script = nfsScript(g as VmGuest).replaceAll('/etc/fstab', path.join(work, 'fstab'));
    const stubs = path.join(work, 'stubs');
    mkdirSync(stubs, { recursive: true });
    for (const cmd of ['mkdir', 'mount', 'apt-get', 'mount.nfs']) {
      writeFileSync(path.join(stubs, cmd), '#!/bin/sh\nexit 0\n');
      chmodSync(path.join(stubs, cmd), 0o755);
    }
    spawnSync('bash', ['-c', script], { env: { PATH: `${stubs}:/usr/bin:/bin` } });
    expect(canaries()).not.toContain('nfs');
  });
});

describe('VM provisioning scripts', () => {
  it('never travel on the host command line (no `bash -c <script text>`)', async () => {
    const b = await build(
      'vm-script',
      `${VM_TEMPLATE}\n    1001: vm({ name: 'app', cloneFrom: 9000, features: ['base'] }),`,
    );
    expect(b.run.status, b.run.stdout + b.run.stderr).toBe(0);
    const carrying = b.calls.filter((c) => c.args.some((a) => a.includes(SCRIPT_MARK)));
    expect(carrying.map((c) => `${c.cmd} ${c.args.slice(0, 4).join(' ')} ...`)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// SSH: what sshd does with `ssh host -- <words>` is `$SHELL -c "<words joined by spaces>"`. The
// fake `ssh` below does exactly that locally, so Phoenix's quoting meets a real POSIX shell.

const NASTY = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  '"',
  '\\',
  '\\\\n',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  '${IFS}',
  '$(touch PWNED)',
  '`touch PWNED`',
  'a;touch PWNED',
  'a && touch PWNED',
  'a | touch PWNED',
  'a\ntouch PWNED',
  'a\rb',
  'tab\there',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '!',
  '!!',
  '#comment',
  '-n',
  '--',
  '>PWNED',
  '<file',
  '{a,b}',
  'ünïcödé ✓',
  "'\"'\"'",
  'x'.repeat(5000),
];

describe('SSH runner quoting, through a real sh', () => {
  const bin = path.join(work, 'fake-ssh-bin');
  const log = path.join(work, 'ssh.log');
  const sandbox = path.join(work, 'ssh-sandbox');
  let saved: string | undefined;

  beforeAll(() => {
    mkdirSync(bin, { recursive: true });
    mkdirSync(sandbox, { recursive: true });
    // ssh [-o opt]... dest [--] words...: log the remote line, then run it as sshd would.
    writeFileSync(
      path.join(bin, 'ssh'),
      `#!/bin/sh
printf '%s\\n' "$*" >> ${shellQuote(log)}
while [ "$#" -gt 0 ]; do
  case "$1" in
    -o|-l|-p|-F) shift 2 ;;
    -n) shift ;;
    -*) echo "fake ssh: unexpected option $1" >&2; exit 255 ;;
    *) break ;;
  esac
done
shift # the host
[ "$1" = "--" ] && shift
line="$*"
cd ${shellQuote(sandbox)} && exec sh -c "$line"
`,
    );
    chmodSync(path.join(bin, 'ssh'), 0o755);
    saved = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${process.env.PATH}`;
  });
  afterAll(() => {
    process.env.PATH = saved;
  });

  it('shellQuote leaves safe words bare and single-quotes the rest', () => {
    expect(shellQuote('pct')).toBe('pct');
    expect(shellQuote('local-lvm:8')).toBe('local-lvm:8');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('every word arrives on the remote side as the same argv element', async () => {
    const runner = new SshRunner({ user: 'root', host: 'pve-fake' }, { controlDir: work });
    const printer = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';
    const r = await runner.run(process.execPath, ['-e', printer, '--', ...NASTY]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(NASTY);
    expect(existsSync(path.join(sandbox, 'PWNED'))).toBe(false);
  });

  it('file operations take hostile paths literally (read, write, create-exclusive, remove)', async () => {
    const runner = new SshRunner({ user: 'root', host: 'pve-fake' }, { controlDir: work });
    for (const [i, name] of [
      'a b',
      "it's",
      '$(touch PWNED)',
      '`touch PWNED`',
      'x;touch PWNED',
      'nl\nname',
      '-rf',
      '*',
    ].entries()) {
      const dir = path.join(sandbox, `d${i} ${name.replace(/\//g, '_')}`);
      const file = path.join(dir, name.replace(/\//g, '_'));
      const body = `content ${i} ${name}\n$(touch PWNED)\n`;
      await runner.writeFile(file, body);
      expect(readFileSync(file, 'utf8')).toBe(body);
      expect(await runner.readFile(file)).toBe(body);
      expect(await runner.createExclusive(file, 'other')).toBe(false);
      await runner.removeFile(file);
      expect(existsSync(file)).toBe(false);
      expect(await runner.readFile(file)).toBeUndefined();
      expect(await runner.createExclusive(file, body)).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(body);
    }
    expect(existsSync(path.join(sandbox, 'PWNED'))).toBe(false);
    expect(readdirSync(sandbox).filter((f) => f.includes('PWNED') && !f.startsWith('d'))).toEqual([]);
  });

  it('phoenix status --host ssh://… runs its host reads through the same quoting', async () => {
    const dir = path.join(work, 'ssh-cli');
    writeProject(dir, CT(''));
    const simRoot = path.join(dir, '.phoenix', 'sim');
    // The "remote" node: the simulator's commands, found through the PATH sh inherits.
    const r = await phoenix(['status', '--host', 'ssh://root@pve-fake', '--config', 'phoenix.config.mjs'], {
      cwd: dir,
      env: {
        PATH: `${bin}${path.delimiter}${path.join(ROOT, 'bin', 'sim')}${path.delimiter}${process.env.PATH}`,
        PHOENIX_SIM_ROOT: simRoot,
      },
    });
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('101');
    const calls = callLog(simRoot);
    expect(
      calls.some((c) => c.cmd === 'pvesh' && c.args[0] === 'get' && c.args[1] === '/cluster/resources'),
    ).toBe(true);
  });

  it('a --host destination starting with "-" is refused, not handed to ssh as an option (ssh://-oProxyCommand=… would run a local command)', async () => {
    const dir = path.join(work, 'ssh-dash');
    writeProject(dir, CT(''));
    rmSync(log, { force: true });
    const r = await phoenix(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
      ['status', '--host', 'ssh://-oProxyCommand=touch${IFS}PWNED', '--config', 'phoenix.config.mjs'],
      { cwd: dir, env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` } },
    );
    expect(r.status).toBe(2);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('');
  });
});
