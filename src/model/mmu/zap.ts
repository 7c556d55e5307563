// The zap path: remove every leaf of a GFN range that an invalidation covers.
// Models kvm_unmap_gfn_range() / kvm_tdp_mmu_unmap_gfn_range() with the
// private/shared attribute filter of G3, and kvm_split_cross_boundary_leafs()
// of the TDX hugepage series.

import { asGfn, LEVEL_2M, pagesAt, type Gfn } from '../units.js';
import type { World } from '../world.js';
import { setLeaf, splitLeaf } from './funnel.js';
import { hasMirroredTdp, type MmuVm } from './ops.js';
import { leavesIn, type RootName } from './spte.js';

/** 4 KiB pages in a 2 MiB mapping. */
const HUGE = pagesAt(LEVEL_2M);

export interface ZapFilter {
  private: boolean;
  shared: boolean;
}

export const ZAP_ALL: ZapFilter = { private: true, shared: true };

/**
 * Before zapping [start, end) of the mirror root, demote every huge leaf the
 * range only partly covers (tdx.md §6.1), so the part outside the range
 * stays mapped. A failed demotion bugs the VM and the leaf is zapped whole.
 * Models kvm_split_cross_boundary_leafs().
 */
export function splitCrossBoundaryLeafs(w: World, vm: MmuVm, rootName: RootName, start: Gfn, end: Gfn): void {
  const root = vm.mmu[rootName];
  for (const { base, spte } of leavesIn(root, start, end)) {
    if (spte.level !== 1) continue;
    if (base >= start && base + HUGE <= end) continue;
    splitLeaf(w, vm, rootName, base);
  }
}

/**
 * Zap [start, end) of a VM. A huge private leaf of a TD that the range only
 * partly covers is demoted first, so the part outside the range stays
 * mapped; any other partly covered huge leaf is zapped whole, as KVM does,
 * and will be faulted back at 4 KiB.
 */
export function zapGfnRange(w: World, vm: MmuVm, start: Gfn, end: Gfn, filter: ZapFilter): void {
  if (start >= end) return;
  const mirrored = hasMirroredTdp(vm);
  const roots: RootName[] = mirrored ? ['mirror', 'direct'] : ['direct'];
  for (const rootName of roots) {
    if (mirrored && rootName === 'mirror' && !filter.private) continue;
    if (mirrored && rootName === 'direct' && !filter.shared) continue;
    if (rootName === 'mirror') splitCrossBoundaryLeafs(w, vm, rootName, start, end);
    for (const { base, spte } of leavesIn(vm.mmu[rootName], start, end)) {
      if (!mirrored && !(spte.private ? filter.private : filter.shared)) continue;
      setLeaf(w, vm, rootName, base, spte.level, null);
    }
  }
  w.step.events.push(`zap vm${vm.id} gfn [0x${start.toString(16)}, 0x${end.toString(16)})`);
}

/** Zap every leaf of the VM (teardown). */
export function zapAll(w: World, vm: MmuVm): void {
  zapGfnRange(w, vm, asGfn(0), asGfn(Number.MAX_SAFE_INTEGER), ZAP_ALL);
}
