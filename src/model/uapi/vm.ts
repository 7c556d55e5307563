// KVM_CREATE_VM, KVM_CREATE_VCPU and close(2) of any KVM fd.

import { isTd, newVm, type VmType } from '../kvm/vm.js';
import { tdxVmInit } from '../kvm/tdx_vm.js';
import { maybeDestroyVm, maybeReleaseGmem } from '../kvm/lifetime.js';
import { tdxVcpuCreate } from '../kvm/tdx_vm.js';
import { created, err, ok, type Ret } from '../result.js';
import { newId, openFd, type World } from '../world.js';
import { vmIoctl } from './common.js';

/** x86 VM type numbers (KVM_X86_*_VM); SEV types are not offered on an Intel host. */
const VM_TYPE_BY_NUMBER: Record<string, VmType> = { '0': 'DEFAULT', '1': 'SW_PROTECTED', '5': 'TDX' };

/** KVM_MAX_VCPU_IDS and KVM_MAX_VCPUS of an x86 host with default config. */
export const MAX_VCPU_IDS = 4096n;
export const MAX_VCPUS = 1024;

/** Models kvm_dev_ioctl_create_vm() -> kvm_arch_init_vm(): unsupported types are EINVAL. */
export function kvmCreateVm(w: World, type: bigint): Ret {
  const t = VM_TYPE_BY_NUMBER[type.toString()];
  if (!t) return err('EINVAL');
  const gates = w.profile.settings.kernel;
  if (gates && !gates.vmTypes.includes(t)) return err('EINVAL');
  const vm = newVm(newId(w), t);
  // kvm_arch_init_vm(): the VM-type-specific init, last.
  if (t === 'TDX') tdxVmInit(vm);
  w.vms.set(vm.id, vm);
  return created(openFd(w, 'vm', vm.id));
}

/**
 * Models kvm_vm_ioctl_create_vcpu(): id range, vCPU count, the arch create
 * hook (tdx_vcpu_create(): EIO unless the TD is INITIALIZED), then the
 * duplicate-id check, which the kernel makes only after creating the vCPU.
 * Choice: split IRQCHIP is taken as enabled, since programs have no
 * KVM_ENABLE_CAP call and every TDX VMM enables it.
 */
export function kvmCreateVcpu(w: World, vmFd: number, id: bigint): Ret {
  const g = vmIoctl(w, vmFd);
  if (!g.ok) return g.r;
  const vm = g.v;
  if (id >= MAX_VCPU_IDS) return err('EINVAL');
  if (vm.vcpus.length >= MAX_VCPUS) return err('EINVAL');
  if (isTd(vm)) {
    const e = tdxVcpuCreate(w, vm);
    if (e) return err(e);
  }
  if (vm.vcpus.some((v) => w.vcpus.get(v)!.vcpuId === Number(id))) return err('EEXIST');
  const vcpuObj = { id: newId(w), vmId: vm.id, vcpuId: Number(id), fdOpen: true, tdxInitialized: false, vp: null, tdxPfns: [] };
  w.vcpus.set(vcpuObj.id, vcpuObj);
  vm.vcpus.push(vcpuObj.id);
  w.step.touched.vms.add(vm.id);
  return created(openFd(w, 'vcpu', vcpuObj.id));
}

/** close(2): drop the fd; the object goes when its last reference does. */
export function closeFd(w: World, fd: number): Ret {
  const e = w.fds.get(fd);
  if (!e) return err('EBADF');
  w.fds.delete(fd);
  if (e.kind === 'vm') {
    const vm = w.vms.get(e.id)!;
    vm.fdOpen = false;
    maybeDestroyVm(w, vm);
  } else if (e.kind === 'vcpu') {
    const vcpu = w.vcpus.get(e.id)!;
    vcpu.fdOpen = false;
    maybeDestroyVm(w, w.vms.get(vcpu.vmId)!);
  } else {
    const gm = w.gmems.get(e.id)!;
    gm.fdOpen = false;
    maybeReleaseGmem(w, gm);
  }
  return ok();
}
