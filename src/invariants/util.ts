// Helpers shared by invariant checks: which VM a call targets, which leaves a
// step touched, and message formatting that names GFNs and PFNs in hex.

import { rootLeaves, rootLeavesIn, type ExecCall, type RootName, type Spte, type Vm, type World } from '../model/view.js';
import type { Op } from '../program/calls.js';

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** VM/vCPU ioctls: the ops that pass the generic kvm_vm_ioctl()/kvm_vcpu_ioctl() gate. */
export const VM_IOCTLS: ReadonlySet<string> = new Set<Op>(['KVM_CREATE_VCPU', 'KVM_CREATE_GUEST_MEMFD', 'KVM_SET_USER_MEMORY_REGION2', 'KVM_SET_MEMORY_ATTRIBUTES', 'KVM_TDX_INIT_VM', 'KVM_TDX_FINALIZE_VM']);
export const VCPU_IOCTLS: ReadonlySet<string> = new Set<Op>(['KVM_TDX_INIT_VCPU', 'KVM_TDX_INIT_MEM_REGION', 'KVM_PRE_FAULT_MEMORY', 'GUEST_ACCESS', 'GUEST_ACCEPT']);

/** The VM a VM or vCPU ioctl was aimed at, if its fd resolves. */
export function targetVm(w: World, call: ExecCall): Vm | undefined {
  const fd = call.handles[0];
  const e = fd === undefined ? undefined : w.fds.get(fd);
  if (!e) return undefined;
  if (VM_IOCTLS.has(call.op) && e.kind === 'vm') return w.vms.get(e.id);
  if (VCPU_IOCTLS.has(call.op) && e.kind === 'vcpu') return w.vms.get(w.vcpus.get(e.id)!.vmId);
  return undefined;
}

const leafCache = new WeakMap<object, Map<string, Array<{ base: number; spte: Spte }>>>();

/**
 * Leaves of the touched GFN ranges of a VM, so checks cost what the step
 * touched. Computed once per step and root, then shared by every invariant.
 */
export function touchedLeaves(w: World, vm: Vm, rootName: RootName, full = false): Array<{ base: number; spte: Spte }> {
  let perStep = leafCache.get(w.step);
  if (!perStep) leafCache.set(w.step, (perStep = new Map()));
  const key = `${vm.id}:${rootName}:${full}`;
  const hit = perStep.get(key);
  if (hit) return hit;
  const out: Array<{ base: number; spte: Spte }> = [];
  const root = vm.mmu[rootName];
  if (root.leaves[0].size + root.leaves[1].size + root.leaves[2].size === 0) {
    perStep.set(key, out);
    return out;
  }
  if (full) {
    // A full sweep trusts no bookkeeping: every leaf of the root.
    const all = rootLeaves(root);
    perStep.set(key, all);
    return all;
  }
  // Merge the step's touched ranges first: a zap touches one range per leaf.
  const ranges = w.step.touched.gfns.filter(([id]) => id === vm.id).map(([, s, e]) => [s, e]).sort((a, b) => a[0] - b[0]);
  let cur: number[] | undefined;
  const merged: number[][] = [];
  for (const r of ranges) {
    if (cur && r[0] <= cur[1]) cur[1] = Math.max(cur[1], r[1]);
    else merged.push((cur = [...r]));
  }
  const seen = new Set<Spte>();
  for (const [start, end] of merged) {
    for (const l of rootLeavesIn(vm.mmu[rootName], start, end)) {
      if (seen.has(l.spte)) continue;
      seen.add(l.spte);
      out.push(l);
    }
  }
  perStep.set(key, out);
  return out;
}

/** The KVM VM whose TD has this id (the module's TD id, as SEAMCALL records name it). */
export function vmOfTd(w: World, td: number): Vm | undefined {
  for (const vm of w.vms.values()) if (vm.tdx?.td === td) return vm;
  return undefined;
}

/** Whether the VM of a TD is bugged: after TDX_BUG_ON its pages may leak and hold what the TD left (tdx.md §5.4). */
export const tdBugged = (w: World, td: number): boolean => vmOfTd(w, td)?.bugged ?? false;

/** VMs that the step touched (every VM in a full sweep) and that invariants still apply to (bugged VMs only answer to bugged-vm). */
export function touchedLiveVms(w: World, full = false): Vm[] {
  const out: Vm[] = [];
  for (const id of full ? w.vms.keys() : w.step.touched.vms) {
    const vm = w.vms.get(id);
    if (vm && !vm.bugged && !vm.destroyed) out.push(vm);
  }
  return out;
}
