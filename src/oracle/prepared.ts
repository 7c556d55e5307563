// Which guest_memfd pages the oracle knows are prepared, and, under G1,
// which it knows are not: a page is prepared by the first access or
// PAGE.ADD that reached it (kvm_gmem_get_pfn() or kvm_gmem_populate()
// marks the folio), and a G1 page whose PAGE.ADD failed stays unprepared
// until something may fault it in.

import type { Op } from '../program/calls.js';
import { RangeMap } from './intervals.js';
import { indexOf, liveGmem, slotOf } from './places.js';
import type { Place, RefState, RefVm } from './state.js';

/** A guest_memfd page an access or a PAGE.ADD reached is prepared from now on (the fault or populate prepared it). */
export function prepare(ref: RefState, p: Place): void {
  if (p.kind === 'gmem') ref.gmems.get(p.gmem)?.prepared.set(p.index, p.index + 1, true);
}

/**
 * Calls that can fault no guest_memfd page in (no guest or host access, no
 * pre-fault, no allocation, no populate): pages known not to be prepared stay
 * so across them. Any other call forgets every such page.
 */
export const KEEPS_UNPREPARED: ReadonlySet<Op> = new Set<Op>([
  'KVM_CREATE_VM', 'KVM_CREATE_VCPU', 'KVM_CREATE_GUEST_MEMFD', 'MMAP_ANON', 'KVM_SET_MEMORY_ATTRIBUTES',
  'KVM_TDX_INIT_VM', 'KVM_TDX_INIT_VCPU', 'KVM_TDX_FINALIZE_VM', 'KVM_TDX_INIT_MEM_REGION',
]);

export function forgetUnprepared(ref: RefState): void {
  if (!ref.anyUnprepared) return;
  for (const g of ref.gmems.values()) g.unprepared = new RangeMap();
  ref.anyUnprepared = false;
}

/** G1: why the page an INIT_MEM_REGION stopped on cannot have been refused as prepared, if the oracle knows it is not. */
export function unpreparedStop(ref: RefState, vm: RefVm, gpa: bigint): string | undefined {
  const gfn = Number(gpa >> 12n);
  const s = slotOf(vm, gfn);
  const g = liveGmem(ref, s);
  if (!g || g.unprepared.get(indexOf(s!, gfn)) !== true) return undefined;
  return `GFN 0x${gfn.toString(16)}'s PAGE.ADD failed, which leaves its page unprepared (kvm_gmem_populate() marks a folio prepared only once the TDX hook succeeded), and nothing has faulted it in since`;
}
