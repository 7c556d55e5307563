// 2 MiB private mappings of a TD (hugepage profiles, tdx.md §6.1): when KVM
// may map 2 MiB, and the demotion (BLOCK, TRACK, DEMOTE) that splits a huge
// leaf before part of it is accepted at 4 KiB (the zap path's demotion is
// mmu/zap.ts's splitCrossBoundaryLeafs()).

import { contiguousBlock } from '../gmem/hugetlb.js';
import { exposeRange } from '../gmem/pages.js';
import { splitLeaf } from '../mmu/funnel.js';
import { leavesIn } from '../mmu/spte.js';
import { gfnAdd, LEVEL_2M, levelBase, pagesAt, tableKey, type Gfn, type Pfn } from '../units.js';
import type { World } from '../world.js';
import { rangeUniformlyPrivate } from './attrs.js';
import { gmemIndex, slotEnd, type Memslot } from './memslot.js';
import type { TdVm, Vm } from './vm.js';

/** 4 KiB pages in a 2 MiB mapping. */
const HUGE = pagesAt(LEVEL_2M);

/**
 * Whether a fault at `gfn` may be mapped at 2 MiB: hugepage profile, TD
 * RUNNABLE (PAGE.ADD is 4K-only), the 2 MiB range inside one memslot with
 * congruent guest_memfd offset, uniformly private, no 4 KiB table already
 * below it, and backed by physically contiguous, 2 MiB-aligned frames,
 * whatever the folio layout. Returns the first PFN, after exposing (zeroing)
 * all 512 pages.
 */
export function hugeLevelFor(w: World, vm: TdVm, gfn: Gfn, slot: Memslot): { pfn: Pfn } | null {
  if (!w.profile.settings.hugeMappings || vm.tdx.state !== 'RUNNABLE') return null;
  const base = levelBase(gfn, LEVEL_2M);
  if (base < slot.baseGfn || gfnAdd(base, HUGE) > slotEnd(slot) || slot.gmemId === null) return null;
  const index = gmemIndex(slot, base);
  if (index % HUGE !== 0) return null;
  if (vm.mmu.mirror.tables.has(tableKey(1, gfn))) return null;
  if (leavesIn(vm.mmu.mirror, base, gfnAdd(base, HUGE)).length > 0) return null;
  if (!rangeUniformlyPrivate(w, vm, base, gfnAdd(base, HUGE))) return null;
  const g = w.gmems.get(slot.gmemId)!;
  const pfn = contiguousBlock(g, index, HUGE);
  if (pfn === null || pfn % HUGE !== 0) return null;
  exposeRange(w, g, index, index + HUGE, 'guest');
  return { pfn };
}

/** Demote the 2 MiB mirror leaf at `base` to 512 4 KiB leaves. */
export function demoteLeaf(w: World, vm: Vm, base: Gfn): boolean {
  return splitLeaf(w, vm, 'mirror', base) === null;
}

