// The zap path: remove every leaf of a GFN range that an invalidation covers.
// Models kvm_unmap_gfn_range() / kvm_tdp_mmu_unmap_gfn_range() with the
// private/shared attribute filter of G3.

import type { Vm } from '../kvm/vm.js';
import type { World } from '../world.js';
import { setLeaf } from './funnel.js';
import { leavesIn, type RootName } from './spte.js';
import { splitForZap } from '../kvm/tdx_huge.js';

export interface ZapFilter {
  private: boolean;
  shared: boolean;
}

export const ZAP_ALL: ZapFilter = { private: true, shared: true };

/**
 * Zap [start, end) of a VM. A huge private leaf of a TD that the range only
 * partly covers is demoted first (tdx.md §6.1), so the part outside the range
 * stays mapped; any other partly covered huge leaf is zapped whole, as KVM
 * does, and will be faulted back at 4 KiB.
 */
export function zapGfnRange(w: World, vm: Vm, start: number, end: number, filter: ZapFilter): void {
  if (start >= end) return;
  const roots: RootName[] = vm.type === 'TDX' ? ['mirror', 'direct'] : ['direct'];
  for (const rootName of roots) {
    if (vm.type === 'TDX' && rootName === 'mirror' && !filter.private) continue;
    if (vm.type === 'TDX' && rootName === 'direct' && !filter.shared) continue;
    if (rootName === 'mirror') splitForZap(w, vm, start, end);
    for (const { base, spte } of leavesIn(vm.mmu[rootName], start, end)) {
      if (vm.type !== 'TDX' && !(spte.private ? filter.private : filter.shared)) continue;
      setLeaf(w, vm, rootName, base, spte.level, null);
    }
  }
  w.step.events.push(`zap vm${vm.id} gfn [0x${start.toString(16)}, 0x${end.toString(16)})`);
}

/** Zap every leaf of the VM (teardown). */
export function zapAll(w: World, vm: Vm): void {
  zapGfnRange(w, vm, 0, Number.MAX_SAFE_INTEGER, ZAP_ALL);
}
