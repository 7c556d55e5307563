// KVM_SET_USER_MEMORY_REGION2. Models kvm_vm_ioctl_set_memory_region(),
// check_memory_region_flags(), kvm_set_memory_region() and kvm_gmem_bind() in
// the kernel's order (gmem.md §5): EINVALs, then EEXIST for a GPA overlap,
// then the guest_memfd binding (EBADF / EINVAL).

import { GMEM_FLAGS, MEMSLOT_FLAGS } from '../abi.js';
import { bind, isBound, unbind } from '../gmem/file.js';
import { slotEnd, type Memslot } from '../kvm/memslot.js';
import { sharedBit, type Vm } from '../kvm/vm.js';
import { zapGfnRange, ZAP_ALL } from '../mmu/zap.js';
import { err, ok, type Ret } from '../result.js';
import { TASK_SIZE_MAX } from '../host/mapping.js';
import { gfnOfUapiGpa, isPageAligned, PAGE_SHIFT, U64_MAX } from '../units.js';
import { fdOf, newId, type World } from '../world.js';
import { vmIoctl } from './common.js';
import { fault } from '../faults.js';

/** KVM_USER_MEM_SLOTS on x86. */
export const USER_MEM_SLOTS = 32764n;
/** KVM_MEM_MAX_NR_PAGES on x86: 2^31 - 1 pages. */
export const MEM_MAX_NR_PAGES = (1n << 31n) - 1n;

export interface RegionArgs {
  slot: bigint;
  flags: bigint;
  gpa: bigint;
  size: bigint;
  uaddr: bigint;
  /** guest_memfd fd (any integer; -1 when unused). */
  gmemFd: bigint;
  offset: bigint;
}

function validFlags(vm: Vm, flags: bigint): bigint {
  let valid = MEMSLOT_FLAGS.LOG_DIRTY_PAGES | MEMSLOT_FLAGS.GUEST_MEMFD;
  // Dirty logging of private memory is not supported.
  if (flags & MEMSLOT_FLAGS.GUEST_MEMFD) valid &= ~MEMSLOT_FLAGS.LOG_DIRTY_PAGES;
  // kvm_arch_has_readonly_mem() is false for VMs with protected state (TDX),
  // and READONLY never combines with GUEST_MEMFD.
  if (vm.type !== 'TDX' && !(flags & MEMSLOT_FLAGS.GUEST_MEMFD)) valid |= MEMSLOT_FLAGS.READONLY;
  return valid;
}

export function setUserMemoryRegion2(w: World, vmFd: number, a: RegionArgs): Ret {
  const g = vmIoctl(w, vmFd);
  if (!g.ok) return g.r;
  const vm = g.v;
  if ((a.slot & 0xffffn) >= USER_MEM_SLOTS) return err('EINVAL');
  if (a.flags & ~validFlags(vm, a.flags)) return err('EINVAL');
  const isGmem = (a.flags & MEMSLOT_FLAGS.GUEST_MEMFD) !== 0n;
  if (!isPageAligned(a.size)) return err('EINVAL');
  if (!isPageAligned(a.gpa)) return err('EINVAL');
  if (!isPageAligned(a.uaddr) || a.uaddr + a.size > TASK_SIZE_MAX) return err('EINVAL');
  if (isGmem && (!isPageAligned(a.offset) || a.offset + a.size > U64_MAX)) return err('EINVAL');
  // Protected VMs have one address space; only id 0 exists for them.
  const asId = a.slot >> 16n;
  if (asId >= (vm.type === 'DEFAULT' ? 2n : 1n)) return err('EINVAL');
  if (asId !== 0n) return err('EINVAL'); // Choice: the model has no SMM address space.
  if (a.gpa + a.size > U64_MAX) return err('EINVAL');
  if (a.size >> BigInt(PAGE_SHIFT) > MEM_MAX_NR_PAGES) return err('EINVAL');
  const id = Number(a.slot & 0xffffn);
  const reserved = vm.tdx ? null : w.profile.settings.kernel?.reservedSlot ?? null;
  // The executor's slot exists with other flags and uaddr: only deleting it passes.
  if (reserved && id === reserved.slot) return a.size === 0n ? ok() : err('EINVAL');
  const old = vm.memslots.find((s) => s.id === id);
  if (a.size === 0n) {
    if (!old) return err('EINVAL');
    deleteSlot(w, vm, old);
    return ok();
  }
  const baseGfn = gfnOfUapiGpa(a.gpa);
  const npages = Number(a.size >> BigInt(PAGE_SHIFT));
  let change: 'create' | 'move' | 'flags' = 'create';
  // The seeded bug lets a guest_memfd slot be re-flagged and keeps its
  // binding pointing at the slot it replaces.
  const flagsBug = old !== undefined && old.hasGmemFlag && fault(w, 'gmem-slot-flags-mutable');
  if (old) {
    // Private memslots are immutable: they can only be deleted.
    if (isGmem && !flagsBug) return err('EINVAL');
    const sticky = MEMSLOT_FLAGS.READONLY | (flagsBug ? 0n : MEMSLOT_FLAGS.GUEST_MEMFD);
    if (a.uaddr !== old.uaddr || npages !== old.npages || ((a.flags ^ old.flags) & sticky)) return err('EINVAL');
    if (baseGfn !== old.baseGfn) change = 'move';
    else if (a.flags !== old.flags) change = 'flags';
    else return ok();
  }
  if (change !== 'flags') {
    const clash = vm.memslots.some((s) => s.id !== id && s.baseGfn < baseGfn + npages && baseGfn < slotEnd(s))
      || (reserved !== null && reserved.gpa < a.gpa + a.size && a.gpa < reserved.gpa + reserved.size);
    if (clash) return err('EEXIST');
  }
  const slot: Memslot = {
    uid: newId(w), id, flags: a.flags, baseGfn, npages, uaddr: a.uaddr,
    gmemId: null, hasGmemFlag: isGmem, pgoff: 0, gmemOnly: false,
  };
  if (isGmem && !old) {
    const r = gmemBind(w, vm, slot, a.gmemFd, a.offset);
    if (r) return r;
  }
  // kvm_arch_prepare_memory_region(): a new or moved slot must not reach a
  // TD's shared bit (kvm_is_gfn_alias() of its last GFN); undo the binding.
  if (change !== 'flags' && ((BigInt(baseGfn + npages - 1) << BigInt(PAGE_SHIFT)) & sharedBit(vm)) !== 0n) {
    unbindSlot(w, slot);
    return err('EINVAL');
  }
  if (old) {
    // A move or flags change replaces the slot: zap the old one's mappings.
    zapGfnRange(w, vm, old.baseGfn, slotEnd(old), ZAP_ALL);
    vm.memslots = vm.memslots.filter((s) => s !== old);
    if (old.gmemId !== null && !flagsBug) unbindSlot(w, old);
  }
  vm.memslots.push(slot);
  vm.memslots.sort((x, y) => x.baseGfn - y.baseGfn);
  w.step.touched.gfns.push([vm.id, baseGfn, baseGfn + npages]);
  w.step.touched.vms.add(vm.id);
  return ok();
}

/** Models kvm_gmem_bind(). */
function gmemBind(w: World, vm: Vm, slot: Memslot, fd: bigint, offset: bigint): Ret | null {
  const fdNum = fd >= -(1n << 31n) && fd < 1n << 31n ? Number(fd) : -1;
  const entry = w.fds.get(fdNum);
  if (!entry) return err('EBADF');
  const gid = fdOf(w, fdNum, 'gmem');
  if (gid === undefined) return err('EINVAL');
  const gm = w.gmems.get(gid)!;
  if (gm.vmId !== vm.id) return err('EINVAL');
  const start = Number(offset >> BigInt(PAGE_SHIFT));
  if (offset + BigInt(slot.npages) * 4096n > BigInt(gm.inode.sizePages) * 4096n) return err('EINVAL');
  if (isBound(gm, start, start + slot.npages)) return err('EINVAL');
  bind(gm, start, start + slot.npages, slot.uid);
  slot.gmemId = gm.id;
  slot.pgoff = start;
  slot.gmemOnly = (gm.inode.flags & GMEM_FLAGS.MMAP) !== 0n;
  w.step.touched.gmems.add(gm.id);
  return null;
}

function unbindSlot(w: World, slot: Memslot): void {
  if (slot.gmemId === null) return;
  const gm = w.gmems.get(slot.gmemId)!;
  unbind(gm, slot.pgoff, slot.pgoff + slot.npages);
  w.step.touched.gmems.add(gm.id);
}

/** Models KVM_MR_DELETE: zap the slot's leaves (private and shared), then unbind. */
export function deleteSlot(w: World, vm: Vm, slot: Memslot): void {
  zapGfnRange(w, vm, slot.baseGfn, slotEnd(slot), ZAP_ALL);
  unbindSlot(w, slot);
  vm.memslots = vm.memslots.filter((s) => s !== slot);
  w.step.touched.gfns.push([vm.id, slot.baseGfn, slotEnd(slot)]);
  w.step.touched.vms.add(vm.id);
}
