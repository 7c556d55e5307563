// Memslots: GPA ranges of a VM and what backs them. Models struct
// kvm_memory_slot with its guest_memfd link (slot->gmem.file, pgoff).

import { gfnAdd, type Gfn } from '../units.js';

export interface Memslot {
  /** Unique across the model, so a stale binding can be told from a live slot. */
  uid: number;
  id: number;
  flags: bigint;
  baseGfn: Gfn;
  npages: number;
  uaddr: bigint;
  /** The bound guest_memfd, or null for a plain slot or once the file is released. */
  gmemId: number | null;
  /** Whether the slot was created with KVM_MEM_GUEST_MEMFD (kept after release). */
  hasGmemFlag: boolean;
  pgoff: number;
  /** KVM_MEMSLOT_GMEM_ONLY: the gmem was created with MMAP, so shared faults are served from it too. */
  gmemOnly: boolean;
}

export function slotEnd(s: Memslot): Gfn {
  return gfnAdd(s.baseGfn, s.npages);
}

export function findSlot(slots: readonly Memslot[], gfn: Gfn): Memslot | undefined {
  for (const s of slots) if (gfn >= s.baseGfn && gfn < slotEnd(s)) return s;
  return undefined;
}

export function slotsOverlapping(slots: readonly Memslot[], start: Gfn, end: Gfn): Memslot[] {
  return slots.filter((s) => s.baseGfn < end && start < slotEnd(s));
}

/** Models kvm_gmem_get_index(): the guest_memfd index backing a GFN of the slot. */
export function gmemIndex(s: Memslot, gfn: Gfn): number {
  return gfn - s.baseGfn + s.pgoff;
}
