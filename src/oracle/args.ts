// Failures the arguments decide by themselves, whatever else a call would
// have met: the oracle works them out from the arguments and its own state,
// and errno-contract holds the model to them. Only checks that come first on
// their path (so no earlier check can answer something else), or that no
// path may pass, are listed:
// - fallocate(2): vfs_fallocate() refuses a negative offset, a zero or a
//   negative length with EINVAL before anything else looks at the call;
// - KVM_CREATE_GUEST_MEMFD: kvm_gmem_create() refuses a size that is zero,
//   negative as a loff_t or not page aligned with EINVAL (its flags check,
//   the only one before it, answers EINVAL too; a dead VM's ioctls EIO);
// - KVM_SET_USER_MEMORY_REGION2: a memslot created or moved in a TD after
//   KVM_TDX_INIT_VM must not reach the shared bit (kvm_is_gfn_alias() of its
//   last GFN in kvm_arch_prepare_memory_region()); several checks can refuse
//   it first, so any errno will do, but it must fail; nor may any VM bind
//   a guest_memfd another VM created (kvm_gmem_bind());
// - KVM_TDX_INIT_MEM_REGION: tdx_vcpu_init_mem_region() refuses a vCPU that
//   has not finished KVM_TDX_INIT_VCPU (EINVAL); the vCPU ioctl's own checks
//   of the TD (its HKID, RUNNABLE, a dead VM) come first, so any errno;
// - KVM_TDX_INIT_VCPU: tdx_vcpu_init() refuses a vCPU whose KVM_TDX_INIT_VCPU
//   already succeeded with EINVAL (its state is no longer UNINITIALIZED);
//   the checks before it answer EINVAL too, a bugged VM EIO;
// - KVM_TDX_INIT_MEM_REGION under G1: once every check before the per-page
//   loop passes and the first page lies in a slot bound to a live
//   guest_memfd, kvm_gmem_populate() refuses that page with EEXIST if it is
//   already prepared, before it asks whether the GFN is private (EINVAL) or
//   GUPs the source (EFAULT). A bugged VM answers EIO first.

import type { Errno } from '../model/errno.js';
import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import { ATTR_FLAGS, INIT_MEM_FLAGS, MEMSLOT_FLAGS } from '../program/calls.js';
import { firstPinned } from './pins.js';
import { indexOf, liveGmem, sharedBitOf, slotOf } from './places.js';
import type { RefState, RefVm } from './state.js';

export interface Refusal {
  /** The errnos the call may answer, or 'any' when only failing is certain. */
  errnos: readonly Errno[] | 'any';
  why: string;
}

const LOFF_NEGATIVE = 1n << 63n;
const negative = (v: bigint) => v >= LOFF_NEGATIVE;

function fdKind(ref: RefState, fd: number | undefined) {
  return fd === undefined ? undefined : ref.fds.get(fd);
}

/** What the call must answer for its arguments alone, or undefined when they decide nothing. */
export function refusal(ref: RefState, c: ExecCall<Op>): Refusal | undefined {
  const a = c.args;
  const e = fdKind(ref, c.handles[0]);
  switch (c.op) {
    case 'FALLOCATE':
      if (e?.kind !== 'gmem') return undefined;
      if (negative(a.offset)) return { errnos: ['EINVAL'], why: 'vfs_fallocate() refuses a negative offset first' };
      if (a.len === 0n || negative(a.len)) return { errnos: ['EINVAL'], why: 'vfs_fallocate() refuses a zero or negative length first' };
      return undefined;
    case 'KVM_CREATE_GUEST_MEMFD':
      if (e?.kind !== 'vm') return undefined;
      if (a.size === 0n || negative(a.size) || (a.size & 0xfffn) !== 0n) return { errnos: ['EINVAL', 'EIO'], why: 'kvm_gmem_create() refuses a size that is zero, negative or not page aligned' };
      return undefined;
    case 'KVM_SET_USER_MEMORY_REGION2': {
      const vm = e?.kind === 'vm' ? ref.vms.get(e.id) : undefined;
      if (!vm || a.size === 0n) return undefined;
      const foreign = foreignGmem(ref, vm, a);
      if (foreign) return foreign;
      if (vm.kind !== 'TDX' || !vm.td || vm.td.phase === 'UNINITIALIZED') return undefined;
      const base = Number(a.gpa >> 12n);
      const npages = Number(a.size >> 12n);
      // Same place and size: a flags change or nothing at all, which the alias check does not look at.
      const old = vm.slots.find((s) => s.id === Number(a.slot & 0xffffn));
      if (old && old.baseGfn === base && old.npages === npages) return undefined;
      const lastGpa = ((a.gpa + a.size - 1n) >> 12n) << 12n;
      if (lastGpa < 1n << 64n && (lastGpa & sharedBitOf(vm)) !== 0n) return { errnos: 'any', why: `its last GFN has the TD's shared bit (GPA bit ${vm.gpaw - 1}): kvm_is_gfn_alias()` };
      return undefined;
    }
    case 'KVM_SET_MEMORY_ATTRIBUTES2':
      return e?.kind === 'gmem' && ref.inPlace ? pinnedRange(ref, e.id, a) : undefined;
    case 'KVM_TDX_INIT_VCPU': {
      if (e?.kind !== 'vcpu') return undefined;
      if (ref.vcpus.get(c.handles[0])?.tdxInit) return { errnos: ['EINVAL', 'EIO'], why: 'its vCPU already finished KVM_TDX_INIT_VCPU (tdx_vcpu_init() wants it UNINITIALIZED)' };
      return undefined;
    }
    case 'KVM_TDX_INIT_MEM_REGION': {
      if (e?.kind !== 'vcpu') return undefined;
      const v = ref.vcpus.get(c.handles[0]);
      if (!v) return undefined;
      if (!v.tdxInit) return { errnos: 'any', why: 'its vCPU has not finished KVM_TDX_INIT_VCPU (tdx_vcpu_init_mem_region())' };
      return ref.refusesPrepared ? preparedFirstPage(ref, ref.vms.get(v.vmId), a) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A memslot with KVM_MEM_GUEST_MEMFD whose guest_memfd another VM created:
 * kvm_gmem_bind() refuses a file whose gmem->kvm is not the VM (EINVAL),
 * and every check that can come before it refuses too, so it must fail.
 * An existing slot cannot take the flag either (private memslots are
 * immutable), so no path lets the call through.
 */
function foreignGmem(ref: RefState, vm: RefVm, a: Record<string, bigint>): Refusal | undefined {
  if ((a.flags & MEMSLOT_FLAGS.GUEST_MEMFD) === 0n || a.gmem === undefined || a.gmem < 0n || a.gmem > 0x7fffffffn) return undefined;
  const f = ref.fds.get(Number(a.gmem));
  const g = f?.kind === 'gmem' ? ref.gmems.get(f.id) : undefined;
  if (!g || g.vmId === vm.id) return undefined;
  return { errnos: 'any', why: `its guest_memfd (fd ${a.gmem}) belongs to vm${g.vmId}, not vm${vm.id}: kvm_gmem_bind() refuses another VM's file` };
}

/**
 * An in-place conversion to private of a range holding a page the host has
 * a long-term pin on (pins.ts), unless every page of it is private already
 * (a no-op answered before anything is looked at): the conversion's
 * reference-count check refuses it (EAGAIN) before its point of no return,
 * and the argument checks before that refuse too, so it must fail.
 */
function pinnedRange(ref: RefState, gmem: number, a: Record<string, bigint>): Refusal | undefined {
  const g = ref.gmems.get(gmem);
  if (!g || g.released || (a.attributes & ATTR_FLAGS.PRIVATE) === 0n || g.pins.size === 0) return undefined;
  const start = a.offset >> 12n;
  const end = (a.offset + a.size + 0xfffn) >> 12n;
  if (start >= BigInt(g.sizePages) || end <= start) return undefined;
  const s = Number(start);
  const e = Math.min(Number(end), g.sizePages);
  const pinned = firstPinned(ref, gmem, s, e);
  if (pinned === undefined || g.priv.covers(s, e)) return undefined;
  return { errnos: 'any', why: `guest_memfd index 0x${pinned.toString(16)} holds a long-term pin, which the conversion's reference-count check refuses (EAGAIN)` };
}

const U64 = (1n << 64n) - 1n;

/**
 * G1: the first page of an INIT_MEM_REGION that passes every check before
 * the per-page loop (tdx_vcpu_init_mem_region(): the TD initialised and not
 * finalized, known flags, aligned source and GPA, a non-empty range that
 * does not wrap, neither end shared) and lies in a slot bound to a live
 * guest_memfd, at a page the oracle knows is prepared.
 */
function preparedFirstPage(ref: RefState, vm: RefVm | undefined, a: Record<string, bigint>): Refusal | undefined {
  if (!vm || vm.kind !== 'TDX' || vm.td?.phase !== 'INITIALIZED' || vm.destroyed) return undefined;
  if ((a.hw_error ?? 0n) !== 0n || (a.flags & ~INIT_MEM_FLAGS.MEASURE) !== 0n) return undefined;
  if ((a.source & 0xfffn) !== 0n || (a.gpa & 0xfffn) !== 0n || a.nr_pages === 0n) return undefined;
  const end = (a.gpa + ((a.nr_pages << 12n) & U64)) & U64;
  const shared = sharedBitOf(vm);
  if (end <= a.gpa || (a.gpa & shared) !== 0n || ((end - 1n) & shared) !== 0n) return undefined;
  const gfn = Number(a.gpa >> 12n);
  const slot = slotOf(vm, gfn);
  if (!slot || (slot.flags & MEMSLOT_FLAGS.GUEST_MEMFD) === 0n) return undefined;
  const g = liveGmem(ref, slot);
  if (!g || g.prepared.get(indexOf(slot, gfn)) !== true) return undefined;
  return { errnos: ['EEXIST', 'EIO'], why: `GFN 0x${gfn.toString(16)} is backed by a page guest_memfd has already prepared, which G1's kvm_gmem_populate() refuses first` };
}
