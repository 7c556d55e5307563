// Where a guest fault gets its PFN (gmem.md §7). Models kvm_mmu_faultin_pfn()
// / __kvm_faultin_pfn() and kvm_mmu_faultin_pfn_gmem(): the privacy check,
// then guest_memfd for private faults and gmem-only slots, then the host
// mapping at userspace_addr, and MMIO when there is no slot.

import { GMEM_FLAGS } from '../abi.js';
import { getPageForExposure } from '../gmem/pages.js';
import { hostFault } from '../gmem/fault.js';
import { mappingAt } from '../host/mapping.js';
import { leafFor } from '../mmu/spte.js';
import { outcome, type Ret } from '../result.js';
import { gfnAdd, pfnAdd, type Gfn, type Pfn } from '../units.js';
import type { World } from '../world.js';
import { isPrivateGfn } from './attrs.js';
import { findSlot, gmemIndex, type Memslot } from './memslot.js';
import type { Vm } from './vm.js';
import { fault } from '../faults.js';

export type Faultin =
  | { ok: true; pfn: Pfn; slot: Memslot; fromGmem: boolean; index: number }
  | { ok: false; r: Ret };

const memFault = (): Faultin => ({ ok: false, r: outcome('EXIT_MEMORY_FAULT') });

export function faultinPfn(w: World, vm: Vm, gfn: Gfn, privateAccess: boolean): Faultin {
  const slot = findSlot(vm.memslots, gfn);
  if (privateAccess !== isPrivateGfn(w, vm, gfn)) return memFault();
  if (!slot) return privateAccess ? memFault() : { ok: false, r: outcome('EXIT_MMIO') };
  if (privateAccess || slot.gmemOnly) {
    // kvm_gmem_get_pfn(): no gmem, or a released file, is a memory-fault exit.
    if (slot.gmemId === null) return memFault();
    const g = w.gmems.get(slot.gmemId);
    if (!g || g.released) return memFault();
    const index = gmemIndex(slot, gfn);
    if (w.profile.settings.inPlaceConversion === false && !privateAccess && slot.gmemOnly) {
      // A shared fault on a gmem-only slot is served from guest_memfd only if
      // the host could map that page: mainline files without INIT_SHARED are
      // all private (gmem.md §14, modelled as a memory-fault exit).
      if ((g.inode.flags & GMEM_FLAGS.INIT_SHARED) === 0n) return memFault();
    }
    const pfn = getPageForExposure(w, g, index, 'guest');
    if (privateAccess && fault(w, 'conversion-reuses-pfn')) {
      // The seeded bug: trust a stale neighbouring translation instead of guest_memfd.
      const root = vm.type === 'TDX' ? vm.mmu.mirror : vm.mmu.direct;
      const prev = leafFor(root, gfnAdd(gfn, -1));
      if (prev?.spte.private) return { ok: true, pfn: pfnAdd(prev.spte.pfn, gfn - prev.base), slot, fromGmem: true, index };
    }
    return { ok: true, pfn, slot, fromGmem: true, index };
  }
  const hva = slot.uaddr + BigInt(gfn - slot.baseGfn) * 4096n;
  const m = mappingAt(w.mappings.values(), hva);
  const p = hostFault(w, m, m ? hva - m.va : 0n);
  if (!p.ok) return memFault();
  return { ok: true, pfn: p.pfn, slot, fromGmem: false, index: -1 };
}
