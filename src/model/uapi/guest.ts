// KVM_RUN with one guest access, TDG.MEM.PAGE.ACCEPT, and
// KVM_PRE_FAULT_MEMORY. Non-TDX VMs fault through the direct root here; TDX
// VMs go through kvm/tdx_fault.ts (EPT violations, the mirror and AUG).

import { leafFor } from '../mmu/spte.js';
import { setLeaf } from '../mmu/funnel.js';
import { faultinPfn } from '../kvm/faultin.js';
import { isPrivateGfn } from '../kvm/attrs.js';
import { findSlot } from '../kvm/memslot.js';
import type { Vm } from '../kvm/vm.js';
import { tdxGuestAccess, tdxGuestAccept, tdxPrefaultStep, tdxRunGate } from '../kvm/tdx_fault.js';
import { readFrame, writeFrame } from '../phys.js';
import { err, ok, outcome, val, type Ret } from '../result.js';
import { isPageAligned, PAGE_SHIFT, U64_MAX, type Pfn } from '../units.js';
import type { Errno } from '../errno.js';
import type { World } from '../world.js';
import { vcpuIoctl } from './common.js';

export const PREFAULT_CHUNK_LIMIT = 4096;

/** GPAs at or above 2^52 (MAXPHYADDR) cannot be produced by a guest. */
export const GPA_LIMIT = 1n << 52n;

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

export function guestAccess(w: World, vcpuFd: number, a: AccessArgs): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vcpu, vm } = g.v;
  if (vm.tdx) {
    const gate = tdxRunGate(vm, vcpu);
    if (gate) return err(gate);
  }
  if (a.gpa >= GPA_LIMIT) return err('EINVAL');
  const bits = w.profile.settings.kernel?.guestBits;
  if (bits && !vm.tdx && a.gpa >> BigInt(bits) !== 0n) return err('EINVAL');
  if (vm.tdx) return tdxGuestAccess(w, vm, vcpu, a);
  const gfn = Number(a.gpa >> BigInt(PAGE_SHIFT));
  // The hardware walk uses whatever leaf is present; only a miss faults.
  const present = leafFor(vm.mmu.direct, gfn);
  if (present) return doAccess(w, present.spte.pfn + (gfn - present.base), a);
  const privateAccess = isPrivateGfn(w, vm, gfn);
  const f = faultinPfn(w, vm, gfn, privateAccess);
  if (!f.ok) return f.r;
  const e = setLeaf(w, vm, 'direct', gfn, 0, { pfn: f.pfn, level: 0, private: privateAccess });
  if (e) return err(e);
  return doAccess(w, f.pfn, a);
}

export function guestAccept(w: World, vcpuFd: number, gpa: bigint, level: bigint): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vcpu, vm } = g.v;
  // TDG.MEM.PAGE.ACCEPT is a TDCALL: a non-TDX guest gets #UD, which KVM
  // reflects into the guest; the model answers EINVAL for it.
  if (!vm.tdx) return err('EINVAL');
  const gate = tdxRunGate(vm, vcpu);
  if (gate) return err(gate);
  if (gpa >= GPA_LIMIT) return err('EINVAL');
  return tdxGuestAccept(w, vm, vcpu, gpa, level);
}

/** One pre-fault step of a non-TDX VM: map the page, or say why not. */
function prefaultStep(w: World, vm: Vm, gfn: number): { mapped: number } | { errno: Errno } {
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

/**
 * Models kvm_vcpu_pre_fault_memory(): validate, then map chunk by chunk,
 * writing gpa/size back; 0 if at least one chunk was mapped, else the first
 * error.
 */
export function preFaultMemory(w: World, vcpuFd: number, gpa: bigint, size: bigint, flags: bigint): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vm } = g.v;
  if (flags !== 0n) return err('EINVAL');
  if (!isPageAligned(gpa) || !isPageAligned(size)) return err('EINVAL');
  if (w.bugs.has('wrap-throws')) {
    // The seeded bug: trusts that gpa + size fits and asserts on it.
    const end = Number(gpa + size);
    if (!Number.isSafeInteger(end) || end > Number.MAX_SAFE_INTEGER) throw new RangeError(`gpa+size ${gpa + size} out of range`);
  }
  if (gpa + size <= gpa || gpa + size > U64_MAX) return err('EINVAL');
  // Models kvm_arch_vcpu_pre_fault_memory() without a TDP MMU.
  if (w.profile.settings.kernel && !w.profile.settings.kernel.preFault) return err('EOPNOTSUPP');
  let cur = gpa;
  let left = size;
  let first: Errno | null = null;
  let done = false;
  let chunks = 0;
  while (left > 0n) {
    // Choice: a call maps at most PREFAULT_CHUNK_LIMIT chunks, as if a signal
    // arrived; the kernel then returns 0 with gpa/size describing the rest.
    if (chunks++ === PREFAULT_CHUNK_LIMIT) break;
    const step = vm.tdx ? tdxPrefaultStep(w, vm, g.v.vcpu, cur) : cur >= GPA_LIMIT ? { errno: 'ENOENT' as Errno } : prefaultStep(w, vm, Number(cur >> BigInt(PAGE_SHIFT)));
    if ('errno' in step) {
      first = step.errno;
      break;
    }
    const bytes = BigInt(step.mapped) << BigInt(PAGE_SHIFT);
    const adv = bytes > left ? left : bytes;
    cur += adv;
    left -= adv;
    done = true;
  }
  w.step.out.gpa = cur;
  w.step.out.size = left;
  if (done) return ok();
  return err(first ?? 'EIO');
}
