// Things a valid config asks for that Proxmox does but that may not turn out as the user
// expects, on facts Phoenix cannot see from here (what an image contains, what a root disk
// already holds). `phoenix check` prints them; they never fail a config.
import type { Diagnostic } from './diagnostics.js';
import type { Config, Guest } from './model.js';

const gp = (g: Guest, ...rest: (string | number)[]) => ['guests', g.vmid, ...rest].join('.');

export function configWarnings(config: Config): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const g of config.guests.values()) {
    if (g.kind === 'vm') {
      const provisions = g.features.length > 0 || g.app !== undefined || g.nfsVolumes.length > 0;
      if (g.image !== undefined && g.agent && (provisions || g.template)) {
        // Provisioning goes through `qm guest exec`, which needs the agent running in the guest
        // ("QEMU guest agent is not running", qemu-server QemuServer/Agent.pm); Ubuntu's cloud
        // images do not ship it and Proxmox's generated user-data installs no packages.
        out.push({
          path: gp(g, 'image'),
          message: `the image must contain qemu-guest-agent (enabled at boot): Phoenix provisions ${g.template ? 'and cleans up the template ' : ''}through the guest agent, and Proxmox's cloud-init installs nothing`,
          fix: 'use an image with the agent installed (e.g. virt-customize -a <image> --install qemu-guest-agent)',
        });
      }
      continue;
    }
    if (g.idmap.length > 0) {
      // The root disk was made under Proxmox's default map (container id N = host id 100000+N,
      // pve-container LXC.pm:799-803); Proxmox never re-owns it when the map changes.
      const ids = g.idmap.map(
        (m) => `${m.type} ${m.containerId}${m.size > 1 ? `..${m.containerId + m.size - 1}` : ''}`,
      );
      out.push({
        path: gp(g, 'idmap'),
        message: `files the container already holds with ${ids.join(', ')} (from its ${g.cloneFrom !== undefined ? 'clone source' : 'OS template'}, owned on the host by 100000 + id) show as nobody/nogroup once this map applies: Proxmox does not re-own a root disk`,
        fix: 're-own such files from the host after the first build (pct mount <id>; chown; pct unmount <id>), or keep those ids on the default map',
      });
    }
    if (g.firewall?.enabled) {
      g.net.forEach((n, i) => {
        if (n.firewall !== false) return;
        out.push({
          path: gp(g, 'net', i, 'firewall'),
          message: `is false, so the guest's enabled firewall does not filter ${n.name} (pve-firewall filters only NICs with firewall=1)`,
          fix: 'remove firewall: false to filter this interface too',
        });
      });
    }
  }
  return out;
}
