// Moved to src/pve/volumes.ts (pure reading of a guest's config, below the runner); kept so
// targets/exists.ts and its tests need not change in the same merge.
export { describeLoss, type Loss, linkedClonesOnHost, lossOf } from '../pve/volumes.js';
