// Object lifetimes as the oracle tracks them: a guest_memfd is released when
// its fd and every host mapping of it are gone (its memslots lose the file);
// a VM is destroyed when its fd, every vCPU fd and every unreleased
// guest_memfd of it are gone (its memslots go).

import { forgetGmem, forgetVm } from './accepted.js';
import type { RefGmem, RefState, RefVm } from './state.js';

export function maybeDestroy(ref: RefState, vm: RefVm): void {
  if (vm.destroyed || vm.fdOpen || vm.vcpuFds.size > 0) return;
  for (const g of ref.gmems.values()) if (g.vmId === vm.id && !g.released) return;
  vm.destroyed = true;
  forgetVm(vm);
  vm.slots = [];
  if (vm.td) vm.td.phase = 'UNINITIALIZED';
}

export function maybeRelease(ref: RefState, g: RefGmem): void {
  if (g.released || g.fdOpen || g.mmaps > 0) return;
  g.released = true;
  // kvm_gmem_release() zaps every private leaf the file backs.
  forgetGmem(ref, g.id);
  const vm = ref.vms.get(g.vmId);
  if (!vm) return;
  for (const s of vm.slots) if (s.gmem === g.id) s.gmem = null;
  maybeDestroy(ref, vm);
}
