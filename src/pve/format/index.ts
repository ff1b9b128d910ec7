// Proxmox file and value formats, shared by the host code (src/pve) and the simulator (src/sim)
// so the two cannot disagree. Pure functions only.
export * from './conf.js';
export * from './escape.js';
export * from './firewall.js';
export * from './propstring.js';
export * from './sha-crypt.js';
export * from './size.js';
export * from './storagecfg.js';
export * from './vmlist.js';
