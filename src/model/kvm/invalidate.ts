// guest_memfd -> KVM invalidation: translate an index range of a guest_memfd
// into the GFN ranges of every memslot bound there and zap them. Models
// kvm_gmem_invalidate_begin() and kvm_gmem_get_invalidate_filter().

import type { Gmem } from '../gmem/file.js';
import { segmentsIn, everyIn } from '../intervals.js';
import { zapGfnRange, type ZapFilter } from '../mmu/zap.js';
import { GMEM_FLAGS } from '../abi.js';
import type { World } from '../world.js';
import { gfnAdd } from '../units.js';

/**
 * Mainline zaps shared SPTEs of an INIT_SHARED file and private ones
 * otherwise; with in-place conversion the filter follows the attributes
 * actually present in the range ([v8 patch 20]).
 */
export function invalidateFilter(w: World, g: Gmem, start: number, end: number): ZapFilter {
  if (!w.profile.settings.inPlaceConversion) {
    const shared = (g.inode.flags & GMEM_FLAGS.INIT_SHARED) !== 0n;
    return { private: !shared, shared };
  }
  const allPrivate = everyIn(g.inode.priv, start, end, (v) => v === true);
  const anyPrivate = segmentsIn(g.inode.priv, start, end).length > 0;
  return { private: anyPrivate, shared: !allPrivate };
}

export function zapBindings(w: World, g: Gmem, start: number, end: number, filter: ZapFilter): void {
  const vm = w.vms.get(g.vmId)!;
  for (const seg of segmentsIn(g.bindings, start, end)) {
    const slot = vm.memslots.find((s) => s.uid === seg.value);
    if (!slot) continue;
    const gfn = gfnAdd(slot.baseGfn, seg.start - slot.pgoff);
    zapGfnRange(w, vm, gfn, gfnAdd(gfn, seg.end - seg.start), filter);
  }
}
