// `--target` of `pct clone` / `qm clone`: the checks both APIs make before anything is locked
// (pve-container src/PVE/API2/LXC.pm:1992-2011, qemu-server src/PVE/API2/Qemu.pm:4440-4469).
import { clusterNodes, isCluster, isSharedStorage } from './cluster.js';
import type { Ctx } from './context.js';
import { ParamError, PveDie } from './errors.js';

/**
 * Returns the node to clone to, or undefined for this node (`--target` naming this node or
 * `localhost` is dropped). Dies `no such cluster node` (`check_node_exists`, pve-cluster
 * src/PVE/Cluster.pm:799-808); with `--storage`, the storage must be enabled here and on the
 * target (`storage_check_enabled`) and shared: `can't clone to non-shared storage '<s>'`. `qm`
 * also refuses a storage without VM images (`what` = `vm images`).
 */
export function cloneTarget(
  ctx: Ctx,
  target: string | undefined,
  storage: string | undefined,
  what: 'container directories' | 'vm images',
): string | undefined {
  const t = target && target !== ctx.host.node && target !== 'localhost' ? target : undefined;
  if (t && (!isCluster(ctx.host.root) || !clusterNodes(ctx.host.root).includes(t)))
    throw new PveDie(`no such cluster node '${t}'`);
  if (storage) {
    const s = ctx.storage.get(storage);
    if (what === 'vm images' && !ctx.storage.contentOf(s).includes('images'))
      throw new ParamError({ storage: `storage '${storage}' does not support vm images` });
    if (t) {
      ctx.on(t).storage.get(storage);
      if (!isSharedStorage(s)) throw new PveDie(`can't clone to non-shared storage '${storage}'`);
    }
  }
  return t;
}
