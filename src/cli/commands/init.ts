// `phoenix init [folder]`: a first project for someone who does not come from the legacy JSON — a
// commented config (one template, one clone, one VM) that a real Proxmox VE host accepts as it is,
// the feature script it names, and a package.json/tsconfig.json that make an editor resolve
// `phoenix-pve` to this Phoenix's types at once, without an `npm install`. Never overwrites.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT_BAD_CONFIG } from '../options.js';

export interface InitFile {
  /** Relative to the project folder. */
  path: string;
  text: string;
  mode?: number;
}

const CONFIG = `// Phoenix config: the guests of one Proxmox VE node, built like \`make\` builds files.
// Try it on the simulator first:  phoenix check  ·  phoenix build --sim --dry-run  ·  phoenix build --sim
import { defineConfig, lxc, vm } from 'phoenix-pve';

export default defineConfig({
  // The Proxmox node name (\`hostname\` on the host).
  node: 'pve',
  // The storages the guests use, as \`pvesm status\` and /etc/pve/storage.cfg show them. Phoenix never
  // creates storages; these are the two a default PVE installation has. On a ZFS installation use
  // 'local-zfs' (type 'zfspool'). \`local\` must allow 'import' for the VM's cloud image:
  //   pvesm set local --content iso,vztmpl,backup,import
  storages: {
    local: { type: 'dir', content: ['vztmpl', 'iso', 'import'], path: '/var/lib/vz' },
    'local-lvm': { type: 'lvmthin', content: ['rootdir', 'images'] },
  },
  // Provisioning scripts: run inside a guest (as root, with bash) when they or the guest change.
  // Keep them idempotent: a re-run must change nothing.
  features: {
    motd: { script: 'features/motd.sh', description: 'A login banner naming the guest' },
  },
  guests: {
    // A container template. Download its OS template once on the host:
    //   pveam update && pveam download local ubuntu-24.04-standard_24.04-2_amd64.tar.zst
    // Phoenix creates it, runs its features, then converts it; nothing else runs it.
    // (A template has no snapshots: Proxmox cannot convert a guest that has some.)
    900: lxc({
      name: 'base',
      template: true,
      ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
      cores: 1,
      memoryMb: 1024,
      rootfs: { storage: 'local-lvm', sizeGb: 8 },
      net: [{ bridge: 'vmbr0', ip: 'dhcp' }],
      features: ['motd'],
    }),
    // A linked clone of 900: it inherits cores, memory, unprivileged and the root disk's storage.
    // The snapshot is taken once its features ran, and again whenever they change. (A container
    // with bind mounts cannot be snapshotted: Proxmox refuses, so such a guest takes none.)
    101: lxc({
      name: 'web',
      cloneFrom: 900,
      memoryMb: 2048,
      net: [{ bridge: 'vmbr0', ip: 'dhcp' }],
      features: ['motd'],
      snapshots: [{ name: 'provisioned', after: 'features' }],
      boot: { onboot: true },
    }),
    // A VM from a cloud image. Proxmox imports only .qcow2/.raw/.vmdk from a storage's import/
    // folder; Ubuntu's .img is qcow2, so download it under that name on the host:
    //   wget -O /var/lib/vz/import/noble-server-cloudimg-amd64.qcow2 \\
    //     https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img
    // Features on a VM run through the QEMU guest agent, which this image lacks: this one has none.
    200: vm({
      name: 'vm1',
      image: 'local:import/noble-server-cloudimg-amd64.qcow2',
      storage: 'local-lvm',
      bridge: 'vmbr0',
      cores: 2,
      memoryMb: 2048,
      diskGb: 16,
      // Add your key to log in: sshKeys: ['ssh-ed25519 AAAA... you@laptop']
      cloudInit: { user: 'admin', ip: 'dhcp' },
    }),
  },
});
`;

const FEATURE = `#!/usr/bin/env bash
# Runs inside the guest as root. Idempotent: writes the banner only when it differs.
set -euo pipefail
banner="$(hostname) — built by Phoenix"
if [ "$(cat /etc/motd 2>/dev/null || true)" != "$banner" ]; then
  printf '%s\\n' "$banner" > /etc/motd
fi
`;

/** The files `init` writes. `types` is the path of Phoenix's DSL entry (what `phoenix-pve` means). */
export function initFiles(name: string, types: string): InitFile[] {
  const pkg = {
    name,
    private: true,
    type: 'module',
    scripts: { check: 'phoenix check', plan: 'phoenix build --dry-run', build: 'phoenix build' },
  };
  const tsconfig = {
    // `phoenix-pve` is the Phoenix that ran `phoenix init`; after moving or reinstalling Phoenix,
    // point this at its src/dsl/index.ts again (or run `phoenix init` in an empty folder and copy it).
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022'],
      module: 'ESNext',
      moduleResolution: 'Bundler',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      paths: { 'phoenix-pve': [types] },
    },
    include: ['phoenix.config.ts'],
  };
  return [
    { path: 'phoenix.config.ts', text: CONFIG },
    { path: 'features/motd.sh', text: FEATURE, mode: 0o755 },
    { path: 'package.json', text: `${JSON.stringify(pkg, null, 2)}\n` },
    { path: 'tsconfig.json', text: `${JSON.stringify(tsconfig, null, 2)}\n` },
    { path: '.gitignore', text: '.phoenix/\n' },
  ];
}

/** This Phoenix's DSL sources: beside dist/ in the package, or in the checkout when run from source. */
function dslTypes(): string {
  const candidates = ['../src/dsl/index.ts', '../../dsl/index.ts'];
  for (const c of candidates) {
    const p = fileURLToPath(new URL(c, import.meta.url));
    if (fs.existsSync(p)) return p;
  }
  return 'phoenix-pve';
}

/** A package name from a folder name (npm: lower case, no spaces). */
const packageName = (dir: string) =>
  path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '') || 'phoenix-fleet';

export function registerInit(program: Command): void {
  program
    .command('init [folder]')
    .description(
      'Start a project: a commented phoenix.config.ts, its feature script, package.json and tsconfig.json',
    )
    .addHelpText(
      'after',
      '\nWrites into the folder (default: the current one; created if missing) and never overwrites:\n' +
        'if any of the files exists, nothing is written and the exit code is 2.\n\n' +
        'Examples:\n  phoenix init\n  phoenix init my-fleet && cd my-fleet && phoenix build --sim\n',
    )
    .action((folder: string | undefined) => {
      const dir = path.resolve(folder ?? '.');
      const files = initFiles(packageName(dir), dslTypes());
      const existing = files.filter((f) => fs.existsSync(path.join(dir, f.path))).map((f) => f.path);
      if (existing.length > 0) {
        process.stderr.write(
          `phoenix init: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} in ${dir}; nothing written\n` +
            '  fix: run it in an empty folder (phoenix init <new-folder>), or move those files away\n',
        );
        process.exitCode = EXIT_BAD_CONFIG;
        return;
      }
      for (const f of files) {
        const target = path.join(dir, f.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, f.text, { flag: 'wx', ...(f.mode && { mode: f.mode }) });
      }
      const cd = dir === process.cwd() ? '' : `  cd ${path.relative(process.cwd(), dir) || dir}\n`;
      process.stdout.write(
        `Created ${files.map((f) => f.path).join(', ')} in ${dir}\n\n` +
          'Next:\n' +
          cd +
          '  phoenix check              validate the config (one line per guest)\n' +
          '  phoenix build --sim -n     the plan, against a simulated Proxmox host\n' +
          '  phoenix build --sim        build it on the simulator (.phoenix/sim); run it again: nothing to do\n' +
          '  phoenix build              on the Proxmox node itself, as root (or --host ssh://root@pve1)\n' +
          'Open phoenix.config.ts in your editor: it completes guest ids, features and storages.\n',
      );
    });
}
