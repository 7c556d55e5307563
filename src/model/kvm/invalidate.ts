// guest_memfd -> KVM invalidation: translate an index range of a guest_memfd
// into the GFN ranges of every memslot bound there and zap them. Models
// kvm_gmem_invalidate_begin() and kvm_gmem_get_invalidate_filter().

import type { Gmem } from '../gmem/file.js';
import { segmentsIn, everyIn } from '../intervals.js';
import { zapGfnRange, type ZapFilter } from '../mmu/zap.js';
import { GMEM_FLAGS } from '../abi.js';
import type { World } from '../world.js';
import { gfnAdd, PAGE_SHIFT } from '../units.js';
import { fault } from '../faults.js';

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

/**
 * Models the MMU notifier (kvm_mmu_notifier_invalidate_range_start()): an
 * unmapped host range is zapped from every memslot whose userspace_addr
 * covers it, before its pages can be freed.
 */
export function invalidateHva(w: World, start: bigint, end: bigint): void {
  for (const vm of w.vms.values()) {
    if (vm.destroyed) continue;
    for (const slot of vm.memslots) {
      const s = slot.uaddr;
      const e = slot.uaddr + (BigInt(slot.npages) << BigInt(PAGE_SHIFT));
      if (s >= end || start >= e) continue;
      const from = gfnAdd(slot.baseGfn, Number(((start > s ? start : s) - s) >> BigInt(PAGE_SHIFT)));
      const to = gfnAdd(slot.baseGfn, Number(((end < e ? end : e) - s + 4095n) >> BigInt(PAGE_SHIFT)) - (fault(w, 'munmap-keeps-last-spte') ? 1 : 0));
      zapGfnRange(w, vm, from, to, { private: false, shared: true });
    }
  }
}

/**
 * Truncating guest_memfd pages unmaps them from every host mapping of the
 * file first (truncate_inode_pages_range() -> unmap_mapping_range()), and
 * each unmapped host range goes through the MMU notifier: a plain memslot
 * whose userspace_addr points into a guest_memfd mmap loses its SPTEs on
 * those pages before they are freed.
 */
export function invalidateGmemMappings(w: World, g: Gmem, start: number, end: number): void {
  for (const m of w.mappings.values()) {
    if (m.kind !== 'gmem' || m.unmapped || m.gmemId !== g.id) continue;
    const from = Math.max(start, m.pgoff);
    const to = Math.min(end, m.pgoff + m.sizePages);
    if (from >= to) continue;
    invalidateHva(w, m.va + (BigInt(from - m.pgoff) << BigInt(PAGE_SHIFT)), m.va + (BigInt(to - m.pgoff) << BigInt(PAGE_SHIFT)));
  }
}
