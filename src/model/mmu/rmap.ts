// Reverse lookups from frames to the leaves that map them. The walk is over
// leaves (what the guest has faulted in), never over the frames of a range.

import { pagesAt } from '../units.js';
import type { World } from '../world.js';

/** Describe every live leaf, of any VM and root, that maps a frame in [start, end). */
export function leavesOverFrames(w: World, start: number, end: number): string[] {
  const out: string[] = [];
  for (const vm of w.vms.values()) {
    if (vm.destroyed) continue;
    for (const rootName of ['mirror', 'direct'] as const) {
      const root = vm.mmu[rootName];
      for (const level of [0, 1, 2] as const) {
        for (const [base, spte] of root.leaves[level]) {
          const n = pagesAt(level);
          if (spte.pfn < end && start < spte.pfn + n) {
            out.push(`vm${vm.id} ${rootName} GFN 0x${base.toString(16)} -> PFN 0x${spte.pfn.toString(16)}${n > 1 ? ` (${n} pages)` : ''}${vm.bugged ? ' [bugged VM]' : ''}`);
          }
        }
      }
    }
  }
  return out;
}
