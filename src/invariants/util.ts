// Helpers shared by invariant checks: which VM a call targets, which leaves a
// step touched, and message formatting that names GFNs and PFNs in hex.

import type { ExecCall } from '../model/exec.js';
import type { Vm } from '../model/kvm/vm.js';
import { leavesIn, type RootName, type Spte } from '../model/mmu/spte.js';
import type { World } from '../model/world.js';

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** VM/vCPU ioctls: the ops that pass the generic kvm_vm_ioctl()/kvm_vcpu_ioctl() gate. */
export const VM_IOCTLS = new Set(['KVM_CREATE_VCPU', 'KVM_CREATE_GUEST_MEMFD', 'KVM_SET_USER_MEMORY_REGION2', 'KVM_SET_MEMORY_ATTRIBUTES', 'KVM_TDX_INIT_VM', 'KVM_TDX_FINALIZE_VM']);
export const VCPU_IOCTLS = new Set(['KVM_TDX_INIT_VCPU', 'KVM_TDX_INIT_MEM_REGION', 'KVM_PRE_FAULT_MEMORY', 'GUEST_ACCESS', 'GUEST_ACCEPT']);

/** The VM a VM or vCPU ioctl was aimed at, if its fd resolves. */
export function targetVm(w: World, call: ExecCall): Vm | undefined {
  const fd = call.handles[0];
  const e = fd === undefined ? undefined : w.fds.get(fd);
  if (!e) return undefined;
  if (VM_IOCTLS.has(call.op) && e.kind === 'vm') return w.vms.get(e.id);
  if (VCPU_IOCTLS.has(call.op) && e.kind === 'vcpu') return w.vms.get(w.vcpus.get(e.id)!.vmId);
  return undefined;
}

/** Leaves of the touched GFN ranges of a VM, so checks cost what the step touched. */
export function touchedLeaves(w: World, vm: Vm, rootName: RootName): Array<{ base: number; spte: Spte }> {
  const seen = new Set<Spte>();
  const out: Array<{ base: number; spte: Spte }> = [];
  for (const [vmId, start, end] of w.step.touched.gfns) {
    if (vmId !== vm.id) continue;
    for (const l of leavesIn(vm.mmu[rootName], start, end)) {
      if (seen.has(l.spte)) continue;
      seen.add(l.spte);
      out.push(l);
    }
  }
  return out;
}

/** VMs that the step touched and that invariants still apply to (bugged VMs only answer to bugged-vm). */
export function touchedLiveVms(w: World): Vm[] {
  const out: Vm[] = [];
  for (const id of w.step.touched.vms) {
    const vm = w.vms.get(id);
    if (vm && !vm.bugged && !vm.destroyed) out.push(vm);
  }
  return out;
}
