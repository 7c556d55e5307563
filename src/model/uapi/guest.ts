// KVM_RUN with one guest access, TDG.MEM.PAGE.ACCEPT, and
// KVM_PRE_FAULT_MEMORY: the checks of each ioctl. Non-TDX VMs fault through
// the direct root (kvm/access.ts); TDX VMs go through kvm/tdx_fault.ts (EPT
// violations, the mirror and AUG).

import { directAccess, directPrefaultStep, type AccessArgs } from '../kvm/access.js';
import { tdxGuestAccess, tdxGuestAccept, tdxPrefaultStep, tdxRunGate } from '../kvm/tdx_fault.js';
import { err, ok, type Ret } from '../result.js';
import { gfnOfUapiGpa, isPageAligned, PAGE_SHIFT, U64_MAX } from '../units.js';
import type { Errno } from '../errno.js';
import type { World } from '../world.js';
import { isTd } from '../kvm/vm.js';
import { vcpuIoctl } from './common.js';
import { fault } from '../faults.js';

export const PREFAULT_CHUNK_LIMIT = 4096;

/** GPAs at or above 2^52 (MAXPHYADDR) cannot be produced by a guest. */
export const GPA_LIMIT = 1n << 52n;

export function guestAccess(w: World, vcpuFd: number, a: AccessArgs): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vcpu, vm } = g.v;
  if (isTd(vm)) {
    const gate = tdxRunGate(vm, vcpu);
    if (gate) return err(gate);
  }
  if (a.gpa >= GPA_LIMIT) return err('EINVAL');
  const bits = w.profile.settings.kernel?.guestBits;
  if (bits && !isTd(vm) && a.gpa >> BigInt(bits) !== 0n) return err('EINVAL');
  if (isTd(vm)) return tdxGuestAccess(w, vm, vcpu, a);
  return directAccess(w, vm, a);
}

export function guestAccept(w: World, vcpuFd: number, gpa: bigint, level: bigint): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vcpu, vm } = g.v;
  // TDG.MEM.PAGE.ACCEPT is a TDCALL: a non-TDX guest gets #UD, which KVM
  // reflects into the guest; the model answers EINVAL for it.
  if (!isTd(vm)) return err('EINVAL');
  const gate = tdxRunGate(vm, vcpu);
  if (gate) return err(gate);
  if (gpa >= GPA_LIMIT) return err('EINVAL');
  return tdxGuestAccept(w, vm, vcpu, gpa, level);
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
  if (fault(w, 'wrap-throws')) {
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
    const step = isTd(vm) ? tdxPrefaultStep(w, vm, g.v.vcpu, cur) : cur >= GPA_LIMIT ? { errno: 'ENOENT' as Errno } : directPrefaultStep(w, vm, gfnOfUapiGpa(cur));
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
