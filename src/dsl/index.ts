// The package's public entry (`import { defineConfig, lxc, vm } from 'phoenix-pve'`). It is bundled
// into every config load, so it exports the authoring helpers and types only; the loader and
// validator live in ./load.ts and ./validate.ts and are imported by the CLI directly.

export type {
  ConfigSpec,
  FirewallSpec,
  GuestDecl,
  GuestSpec,
  IpConfig,
  LxcDecl,
  LxcNetSpec,
  LxcSpec,
  NodeName,
  PhoenixConfig,
  StorageSpec,
  VmDecl,
  VmSpec,
  ZfsVolumeSpec,
} from './define.js';
export { defineConfig, fromEnv, lxc, vm } from './define.js';
export type * from './model.js';
