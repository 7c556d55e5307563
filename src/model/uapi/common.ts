// Shared steps of every ioctl ladder: resolving an fd to its object (EBADF),
// and the generic VM/vCPU ioctl gate that answers EIO once a VM is dead or
// bugged (kvm_vm_ioctl(), kvm_vcpu_ioctl()).

import type { Gmem } from '../gmem/file.js';
import type { Vcpu } from '../kvm/vcpu.js';
import type { Vm } from '../kvm/vm.js';
import { vmDead } from '../kvm/lifetime.js';
import { err, type Ret } from '../result.js';
import { fdOf, type World } from '../world.js';

export type Got<T> = { ok: true; v: T } | { ok: false; r: Ret };

const fail = <T>(r: Ret): Got<T> => ({ ok: false, r });

/** Whether the generic ioctl gate refuses this VM (vm_dead). */
export function vmRefuses(w: World, vm: Vm): boolean {
  return vmDead(w, vm);
}

/** Resolve a VM fd and pass the generic gate. */
export function vmIoctl(w: World, fd: number): Got<Vm> {
  const id = fdOf(w, fd, 'vm');
  const vm = id === undefined ? undefined : w.vms.get(id);
  if (!vm) return fail(err('EBADF'));
  if (vmRefuses(w, vm)) return fail(err('EIO'));
  return { ok: true, v: vm };
}

/** Resolve a vCPU fd and pass the generic gate. */
export function vcpuIoctl(w: World, fd: number): Got<{ vcpu: Vcpu; vm: Vm }> {
  const id = fdOf(w, fd, 'vcpu');
  const vcpu = id === undefined ? undefined : w.vcpus.get(id);
  if (!vcpu) return fail(err('EBADF'));
  const vm = w.vms.get(vcpu.vmId)!;
  if (vmRefuses(w, vm)) return fail(err('EIO'));
  return { ok: true, v: { vcpu, vm } };
}

/** Resolve a guest_memfd fd; guest_memfd file operations have no VM gate. */
export function gmemFile(w: World, fd: number): Got<Gmem> {
  const id = fdOf(w, fd, 'gmem');
  const g = id === undefined ? undefined : w.gmems.get(id);
  if (!g) return fail(err('EBADF'));
  return { ok: true, v: g };
}

/** Whether a u64 argument would be negative as the kernel's signed loff_t. */
export function negativeLoff(v: bigint): boolean {
  return v >= 1n << 63n;
}
