// The KVM_TDX_* sub-ioctls of KVM_MEMORY_ENCRYPT_OP (tdx.md §1.3, §2). Models
// tdx_vm_ioctl(), tdx_get_cmd(), tdx_vcpu_unlocked_ioctl() and
// tdx_vcpu_init_mem_region(): the command preamble, then each command's
// ladder in the kernel's order.

import { INIT_MEM_FLAGS } from '../abi.js';
import { tdxFinalize, tdxInitVcpu, tdxInitVm } from '../kvm/tdx_vm.js';
import { populateRegion, type RegionCursor } from '../kvm/tdx_populate.js';
import type { Errno } from '../errno.js';
import { err, ok, type Ret } from '../result.js';
import { isPageAligned, U64_MAX } from '../units.js';
import type { World } from '../world.js';
import { isCreatedTd, isTd, sharedBit, type TdVm } from '../kvm/vm.js';
import { vcpuIoctl, vmIoctl } from './common.js';
import { fault } from '../faults.js';

export interface TdxCmd {
  flags: bigint;
  hwError: bigint;
}

const done = (e: Errno | null): Ret => (e ? err(e) : ok());

/** KVM_MEMORY_ENCRYPT_OP on the fd of a VM that is not a TD: vt_mem_enc_ioctl() answers ENOTTY. */
function notTdx(): Ret {
  return err('ENOTTY');
}

/** The same op on the fd of a vCPU that is not a TD vCPU: vt_vcpu_mem_enc_ioctl() answers EINVAL. */
function notTdxVcpu(): Ret {
  return err('EINVAL');
}

/** Models tdx_vm_ioctl(): resolve the VM, the command preamble (tdx_get_cmd()), then the command. */
function vmCmd(w: World, vmFd: number, c: TdxCmd, run: (vm: TdVm) => Errno | null): Ret {
  const g = vmIoctl(w, vmFd);
  if (!g.ok) return g.r;
  const vm = g.v;
  if (!isTd(vm)) return notTdx();
  if (c.hwError !== 0n) return err('EINVAL');
  return done(run(vm));
}

export interface InitVmArgs extends TdxCmd {
  /** CPUID 0x80000008 EAX[23:16] of struct kvm_tdx_init_vm: the TD's GPA width. */
  gpaw: bigint;
}

export function tdxInitVmIoctl(w: World, vmFd: number, c: InitVmArgs): Ret {
  return vmCmd(w, vmFd, c, (vm) => tdxInitVm(w, vm, c.flags, c.gpaw));
}

export function tdxFinalizeIoctl(w: World, vmFd: number, c: TdxCmd): Ret {
  return vmCmd(w, vmFd, c, (vm) => tdxFinalize(w, vm, c.flags));
}

export function tdxInitVcpuIoctl(w: World, vcpuFd: number, c: TdxCmd): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vm, vcpu } = g.v;
  if (!isTd(vm)) return notTdxVcpu();
  if (c.hwError !== 0n) return err('EINVAL');
  return done(tdxInitVcpu(w, vm, vcpu, c.flags));
}

export interface InitMemArgs extends TdxCmd {
  source: bigint;
  gpa: bigint;
  nrPages: bigint;
}

/**
 * What source=0 means under this profile (or a seeded bug): refused up front
 * (G3), the target page itself (in-place conversion), or address 0, GUPed
 * like any other (G1, which has no NULL check).
 */
function nullSourceMeaning(w: World): 'reject' | 'target' | 'address' {
  const s = w.profile.settings;
  if (fault(w, 'null-source-as-target') || s.nullSource === 'target') return 'target';
  if (s.nullSource === 'in-place' && s.inPlaceConversion) return 'target';
  return s.nullSource === 'gup' ? 'address' : 'reject';
}

export function tdxInitMemRegionIoctl(w: World, vcpuFd: number, a: InitMemArgs): Ret {
  const g = vcpuIoctl(w, vcpuFd);
  if (!g.ok) return g.r;
  const { vm, vcpu } = g.v;
  if (!isTd(vm)) return notTdxVcpu();
  if (a.hwError !== 0n) return err('EINVAL');
  const t = vm.tdx;
  const afterFinalizeOk = fault(w, 'add-after-finalize');
  // An HKID implies a created TD; isCreatedTd() narrows to it.
  if (t.hkid === null || !isCreatedTd(vm) || (t.state === 'RUNNABLE' && !afterFinalizeOk)) return err('EINVAL');
  if (!vcpu.tdxInitialized) return err('EINVAL');
  if (a.flags & ~INIT_MEM_FLAGS.MEASURE) return err('EINVAL');
  const source = a.source === 0n ? nullSourceMeaning(w) : 'address';
  if (!isPageAligned(a.source) || source === 'reject') return err('EINVAL');
  if (!isPageAligned(a.gpa) || a.nrPages === 0n) return err('EINVAL');
  // The kernel computes gpa + (nr_pages << PAGE_SHIFT) in u64 arithmetic.
  const end = (a.gpa + ((a.nrPages << 12n) & U64_MAX)) & U64_MAX;
  if (end <= a.gpa) return err('EINVAL');
  // vt_is_tdx_private_gpa() of the first and the last byte.
  const shared = sharedBit(vm);
  if ((a.gpa & shared) !== 0n || (((end - 1n) & U64_MAX) & shared) !== 0n) return err('EINVAL');
  const cur: RegionCursor = { source: a.source, gpa: a.gpa, nrPages: a.nrPages };
  const e = populateRegion(w, vm, cur, (a.flags & INIT_MEM_FLAGS.MEASURE) !== 0n, source === 'target');
  w.step.out.source = cur.source;
  w.step.out.gpa = cur.gpa;
  w.step.out.nr_pages = cur.nrPages;
  return done(e);
}
