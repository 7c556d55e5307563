// KVM_SET_MEMORY_ATTRIBUTES (per-VM, out-of-place) and
// KVM_SET_MEMORY_ATTRIBUTES2 (per-guest_memfd, in-place, [v8]). Models
// kvm_vm_ioctl_set_mem_attributes() / kvm_vm_set_mem_attributes() and
// kvm_gmem_set_attributes().

import { ATTR_FLAGS } from '../abi.js';
import { clearRange, everyIn, segmentsIn, setRange } from '../intervals.js';
import { hasPrivateMem } from '../kvm/vm.js';
import { slotsOverlapping, slotEnd } from '../kvm/memslot.js';
import { zapGfnRange, ZAP_ALL } from '../mmu/zap.js';
import { invalidateGmemMappings, zapBindings } from '../kvm/invalidate.js';
import { convertFolios } from '../gmem/hugetlb.js';
import { runsIn } from '../gmem/inode.js';
import { err, ok, type Ret } from '../result.js';
import { gfnOfUapiGpa, isPageAligned, PAGE_SHIFT, U64_MAX } from '../units.js';
import type { World } from '../world.js';
import { gmemFile, vmIoctl } from './common.js';
import { fault } from '../faults.js';

/** kvm_supported_mem_attributes(): PRIVATE for VMs with private memory, none once in-place conversion owns privacy. */
function supportedVmAttrs(w: World, privateMem: boolean): bigint {
  return privateMem && !w.profile.settings.inPlaceConversion ? ATTR_FLAGS.PRIVATE : 0n;
}

export interface AttrArgs {
  start: bigint;
  size: bigint;
  attributes: bigint;
  flags: bigint;
}

export function setMemoryAttributes(w: World, vmFd: number, a: AttrArgs): Ret {
  const g = vmIoctl(w, vmFd);
  if (!g.ok) return g.r;
  const vm = g.v;
  // A kernel built without KVM_GENERIC_MEMORY_ATTRIBUTES falls through to kvm_arch_vm_ioctl().
  if (w.profile.settings.kernel && !w.profile.settings.kernel.memoryAttributes) return err('ENOTTY');
  const bug = fault(w, 'attrs-set-before-validate');
  if (a.flags !== 0n) return err('EINVAL');
  if (a.attributes & ~supportedVmAttrs(w, hasPrivateMem(vm))) return err('EINVAL');
  if (a.size === 0n || a.start + a.size > U64_MAX) return err('EINVAL');
  const start = gfnOfUapiGpa(a.start);
  const end = gfnOfUapiGpa(a.start + a.size + 4095n);
  const wantPrivate = a.attributes !== 0n;
  if (bug && wantPrivate) setRange(vm.attrs, start, end, true);
  if (!isPageAligned(a.start) || !isPageAligned(a.size)) return err('EINVAL');
  // No-op when every GFN already has the requested value: no invalidation.
  if (everyIn(vm.attrs, start, end, (v) => (v === true) === wantPrivate)) return ok();
  // kvm_arch_pre_set_memory_attributes(): x86 zaps both kinds of mapping in
  // every slot the range overlaps, so the hugepage decision can be revisited.
  if (!fault(w, 'conversion-skips-zap')) {
    for (const s of slotsOverlapping(vm.memslots, start, end)) {
      zapGfnRange(w, vm, s.baseGfn > start ? s.baseGfn : start, slotEnd(s) < end ? slotEnd(s) : end, ZAP_ALL);
    }
  }
  if (wantPrivate) setRange(vm.attrs, start, end, true);
  else clearRange(vm.attrs, start, end);
  w.step.touched.gfns.push([vm.id, start, end]);
  w.step.touched.vms.add(vm.id);
  return ok();
}

export function setMemoryAttributes2(w: World, fd: number, a: AttrArgs): Ret {
  if (!w.profile.settings.inPlaceConversion) {
    // Without in-place conversion guest_memfd has no ioctls at all.
    return w.fds.has(fd) ? err('ENOTTY') : err('EBADF');
  }
  const g = gmemFile(w, fd);
  if (!g.ok) return g.r;
  const gm = g.v;
  const vm = w.vms.get(gm.vmId)!;
  if (a.flags !== 0n) return err('EINVAL');
  if (!hasPrivateMem(vm)) return err('EINVAL');
  if (a.attributes & ~ATTR_FLAGS.PRIVATE) return err('EINVAL');
  if (a.size === 0n || a.start + a.size > U64_MAX) return err('EINVAL');
  if (!isPageAligned(a.start) || !isPageAligned(a.size)) return err('EINVAL');
  const sizeBytes = BigInt(gm.inode.sizePages) << BigInt(PAGE_SHIFT);
  if (a.start >= sizeBytes || a.start + a.size > sizeBytes) return err('EINVAL');
  const start = Number(a.start >> BigInt(PAGE_SHIFT));
  const end = Number((a.start + a.size) >> BigInt(PAGE_SHIFT));
  const toPrivate = a.attributes !== 0n;
  if (everyIn(gm.inode.priv, start, end, (v) => (v === true) === toPrivate)) return ok();
  if (toPrivate) {
    // Host PTEs are unmapped first; then any page still holding a reference
    // beyond the page cache's (a long-term pin) makes the whole call fail.
    const offending = firstPinnedIndex(w, gm.id, start, end);
    if (offending !== undefined) {
      w.step.out.error_offset = BigInt(offending) << BigInt(PAGE_SHIFT);
      return err('EAGAIN');
    }
  }
  // Point of no return. HugeTLB folios split before the guest mappings go
  // (the order of the in-place conversion series), merge after.
  if (!toPrivate) convertFolios(w, gm, start, end, 'split');
  zapBindings(w, gm, start, end, { private: !toPrivate, shared: toPrivate });
  // The host's mappings of pages going private are gone (unmap_mapping_range()),
  // and the MMU notifier takes what a plain memslot mapped through them. Done
  // here, past the pin check, rather than before it as the kernel does: a
  // refused conversion leaves the pages shared, so a surviving SPTE is still
  // a valid one, and the failed call changes nothing.
  if (toPrivate) invalidateGmemMappings(w, gm, start, end);
  if (toPrivate) setRange(gm.inode.priv, start, end, true);
  else clearRange(gm.inode.priv, start, end);
  if (toPrivate) convertFolios(w, gm, start, end, 'merge');
  w.step.touched.gmems.add(gm.id);
  w.step.touched.vms.add(vm.id);
  for (const seg of segmentsIn(gm.bindings, start, end)) {
    const slot = vm.memslots.find((s) => s.uid === seg.value);
    if (slot) w.step.touched.gfns.push([vm.id, slot.baseGfn + seg.start - slot.pgoff, slot.baseGfn + seg.end - slot.pgoff]);
  }
  return ok();
}

/** The first index of [start, end) whose page carries a long-term pin. */
function firstPinnedIndex(w: World, gmemId: number, start: number, end: number): number | undefined {
  if (w.pins.size === 0) return undefined;
  const gm = w.gmems.get(gmemId)!;
  let best: number | undefined;
  for (const r of runsIn(gm.inode, start, end)) {
    for (const pfn of w.pins.keys()) {
      const idx = pfn - r.value.delta;
      if (idx >= r.start && idx < r.end && (best === undefined || idx < best)) best = idx;
    }
  }
  return best;
}
