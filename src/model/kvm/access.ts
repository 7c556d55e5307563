// A guest load or store, and the fault path of a VM without TDX: the
// hardware walk of the direct root uses whatever leaf is present and only a
// miss faults, through kvm_mmu_faultin_pfn(), into one 4 KiB leaf. Models
// kvm_tdp_page_fault() on the direct root; TDs fault in kvm/tdx_fault.ts.

import type { Errno } from '../errno.js';
import { setLeaf } from '../mmu/funnel.js';
import { leafFor } from '../mmu/spte.js';
import { readFrame, writeFrame } from '../phys.js';
import { err, outcome, val, type Ret } from '../result.js';
import { gfnOfUapiGpa, pfnAdd, type Gfn, type Pfn } from '../units.js';
import type { World } from '../world.js';
import { isPrivateGfn } from './attrs.js';
import { faultinPfn } from './faultin.js';
import { findSlot } from './memslot.js';
import type { Vm } from './vm.js';

export interface AccessArgs {
  gpa: bigint;
  private: boolean;
  write: boolean;
  byte?: bigint;
}

/** Perform the load or store on the frame the walk reached. */
export function doAccess(w: World, pfn: Pfn, a: AccessArgs): Ret {
  w.step.touched.pfns.add(pfn);
  if (a.write) {
    writeFrame(w.phys, pfn, Number((a.byte ?? 0n) & 0xffn));
    return outcome('OK');
  }
  return val(readFrame(w.phys, pfn));
}

/** A guest access of a VM without TDX, after KVM_RUN's checks. */
export function directAccess(w: World, vm: Vm, a: AccessArgs): Ret {
  const gfn = gfnOfUapiGpa(a.gpa);
  // The hardware walk uses whatever leaf is present; only a miss faults.
  const present = leafFor(vm.mmu.direct, gfn);
  if (present) return doAccess(w, pfnAdd(present.spte.pfn, gfn - present.base), a);
  const privateAccess = isPrivateGfn(w, vm, gfn);
  const f = faultinPfn(w, vm, gfn, privateAccess);
  if (!f.ok) return f.r;
  const e = setLeaf(w, vm, 'direct', gfn, 0, { pfn: f.pfn, level: 0, private: privateAccess });
  if (e) return err(e);
  return doAccess(w, f.pfn, a);
}

/** One pre-fault step of a non-TDX VM: map the page, or say why not. */
export function directPrefaultStep(w: World, vm: Vm, gfn: Gfn): { mapped: number } | { errno: Errno } {
  const slot = findSlot(vm.memslots, gfn);
  const privateAccess = isPrivateGfn(w, vm, gfn);
  // kvm_handle_noslot_fault(): a private fault with no memslot is a memory-fault exit, a shared one is emulated MMIO.
  if (!slot) return { errno: privateAccess ? 'EFAULT' : 'ENOENT' };
  if (leafFor(vm.mmu.direct, gfn)) return { mapped: 1 };
  const f = faultinPfn(w, vm, gfn, privateAccess);
  if (!f.ok) return { errno: f.r.kind === 'outcome' && f.r.name === 'EXIT_MMIO' ? 'ENOENT' : 'EFAULT' };
  const e = setLeaf(w, vm, 'direct', gfn, 0, { pfn: f.pfn, level: 0, private: privateAccess });
  return e ? { errno: e } : { mapped: 1 };
}
