// VM lifetime: the VM fd, every vCPU fd and every unreleased guest_memfd file
// hold a reference; the last one to go runs kvm_destroy_vm(). guest_memfd's
// own release (kvm_gmem_release()) clears its bindings and zaps what it backed.

import { fileRefs, type Gmem } from '../gmem/file.js';
import { segmentsIn } from '../intervals.js';
import { zapAll, zapGfnRange } from '../mmu/zap.js';
import { invalidateFilter } from './invalidate.js';
import type { World } from '../world.js';
import { tdxDestroyVm } from './tdx_teardown.js';
import { isTd, type Vm } from './vm.js';
import { fault } from '../faults.js';
import { gfnAdd } from '../units.js';

/**
 * Whether KVM treats the VM as dead (kvm->vm_dead): killed, or bugged, which
 * implies dead (kvm_vm_bugged()). Every VM and vCPU ioctl then answers EIO
 * and no map SEAMCALL is issued. The one fault point of
 * bugged-vm-keeps-answering, which makes a bugged VM carry on.
 */
export function vmDead(w: World, vm: Vm): boolean {
  return vm.dead && !(vm.bugged && fault(w, 'bugged-vm-keeps-answering'));
}

export function vmRefs(w: World, vm: Vm): number {
  let n = vm.fdOpen ? 1 : 0;
  for (const id of vm.vcpus) if (w.vcpus.get(id)?.fdOpen) n++;
  for (const g of w.gmems.values()) if (g.vmId === vm.id && !g.released) n++;
  return n;
}

/** Models kvm_destroy_vm(): zap everything, tear the TD down, drop the memslots. */
export function maybeDestroyVm(w: World, vm: Vm): void {
  if (vm.destroyed || vmRefs(w, vm) > 0) return;
  zapAll(w, vm);
  if (isTd(vm)) tdxDestroyVm(w, vm);
  vm.memslots = [];
  vm.destroyed = true;
  w.step.touched.vms.add(vm.id);
  w.step.events.push(`destroy vm${vm.id}`);
}

/**
 * Models kvm_gmem_release(): zap the SPTEs of every bound memslot that this
 * file backs (private ones, or shared ones of an INIT_SHARED file), clear the
 * slots' links and the binding table, drop the VM reference. Pages stay with
 * the inode.
 */
export function maybeReleaseGmem(w: World, g: Gmem): void {
  if (g.released || fileRefs(g) > 0) return;
  const vm = w.vms.get(g.vmId)!;
  // kvm_gmem_get_invalidate_filter(): the same filter a punch hole of the whole file uses.
  const filter = invalidateFilter(w, g, 0, g.inode.sizePages);
  for (const seg of segmentsIn(g.bindings, 0, Number.MAX_SAFE_INTEGER)) {
    const slot = vm.memslots.find((s) => s.uid === seg.value);
    if (!slot) continue;
    const startGfn = gfnAdd(slot.baseGfn, seg.start - slot.pgoff);
    zapGfnRange(w, vm, startGfn, gfnAdd(startGfn, seg.end - seg.start), filter);
  }
  for (const slot of vm.memslots) if (slot.gmemId === g.id) slot.gmemId = null;
  g.bindings.segs = [];
  g.released = true;
  w.step.touched.gmems.add(g.id);
  maybeDestroyVm(w, vm);
}

