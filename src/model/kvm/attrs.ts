// Where a GFN's privacy comes from: the per-VM attribute map (mainline), or
// the guest_memfd bound at that GFN (in-place conversion, [v8 patch 09/10]:
// no slot or no live gmem means shared). Models kvm_mem_is_private().

import { segmentAt, everyIn } from '../intervals.js';
import { isIndexPrivate } from '../gmem/inode.js';
import type { World } from '../world.js';
import { findSlot, gmemIndex } from './memslot.js';
import type { Vm } from './vm.js';
import type { Gfn } from '../units.js';

export function isPrivateGfn(w: World, vm: Vm, gfn: Gfn): boolean {
  if (!w.profile.settings.inPlaceConversion) return segmentAt(vm.attrs, gfn) !== undefined;
  const slot = findSlot(vm.memslots, gfn);
  if (!slot || slot.gmemId === null) return false;
  const g = w.gmems.get(slot.gmemId);
  if (!g || g.released) return false;
  return isIndexPrivate(g.inode, gmemIndex(slot, gfn));
}

/** Whether every GFN of [start, end) is private, as a huge mapping needs. */
export function rangeUniformlyPrivate(w: World, vm: Vm, start: Gfn, end: Gfn): boolean {
  if (!w.profile.settings.inPlaceConversion) return everyIn(vm.attrs, start, end, (v) => v === true);
  const slot = findSlot(vm.memslots, start);
  if (!slot || slot.gmemId === null || end > slot.baseGfn + slot.npages) return false;
  const g = w.gmems.get(slot.gmemId);
  if (!g || g.released) return false;
  return everyIn(g.inode.priv, gmemIndex(slot, start), gmemIndex(slot, end), (v) => v === true);
}
