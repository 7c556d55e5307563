// KVM's TD lifecycle (tdx.md §1-2): creation, KVM_TDX_INIT_VM, vCPU creation
// gating, KVM_TDX_INIT_VCPU and KVM_TDX_FINALIZE_VM. Models tdx_vm_init(),
// tdx_td_init(), __tdx_td_init(), tdx_vcpu_create(), tdx_vcpu_init() and
// tdx_td_finalize().

import type { Errno } from '../errno.js';
import { allocBlock, freeFrames } from '../host/pfnspace.js';
import * as sc from '../tdx/seamcall.js';
import { isBusy } from '../tdx/status.js';
import type { World } from '../world.js';
import type { Vcpu } from './vcpu.js';
import type { TdVm, Vm } from './vm.js';
import { isCreatedTd } from './vm.js';
import { tdxBug } from './tdx_bug.js';
import { tdxUndoInit } from './tdx_teardown.js';
import { registerExternalOps } from '../mmu/ops.js';
import { tdxExternalOps } from './tdx_mmu.js';

/**
 * Models tdx_vm_init(): KVM's side of a new TD, and the S-EPT hooks its
 * mirror root calls (the TDX members of vt_x86_ops, selected by
 * KVM_X86_TDX_VM).
 */
export function tdxVmInit(vm: Vm): void {
  registerExternalOps('tdx', tdxExternalOps);
  vm.externalOps = 'tdx';
  vm.tdx = { state: 'UNINITIALIZED', td: null, hkid: null, preFaultAllowed: false, pageAddSrc: null, nrPremapped: 0, controlPfns: [], septPfns: new Map(), gpaw: null };
}

/** TDCS pages per TD and TDCX pages per vCPU (module-dependent; any small count will do). */
const TDCS_PAGES = 4;
const TDCX_PAGES = 2;

/** tdx_vcpu_create(): vCPUs can be created only while the TD is INITIALIZED. */
export function tdxVcpuCreate(_w: World, vm: TdVm): Errno | null {
  return vm.tdx.state === 'INITIALIZED' ? null : 'EIO';
}

/**
 * A failure after TDH.MNG.CREATE bugs the VM, and __tdx_td_init() then runs
 * the full teardown at once (release the HKID, reclaim the control pages),
 * so the VM keeps no HKID.
 */
function initFailed(w: World, vm: TdVm, what: string): Errno {
  const e = tdxBug(w, vm, what);
  tdxUndoInit(w, vm);
  return e;
}

/**
 * Models tdx_td_init() from the state check to TDH.MNG.INIT. Of the CPUID
 * the VMM passes, only the GPA width is modelled (attributes and XFAM are
 * not reachable from programs).
 */
export function tdxInitVm(w: World, vm: TdVm, flags: bigint, gpaw: bigint): Errno | null {
  const t = vm.tdx;
  if (t.state !== 'UNINITIALIZED') return 'EINVAL';
  if (flags !== 0n) return 'EINVAL';
  if (vm.vcpus.length !== 0) return 'EBUSY';
  // setup_tdparams_eptp_controls(): GPAW 48 (4-level EPT) or 52 (5-level,
  // which the modelled host has); 52 sets TDX_CONFIG_FLAGS_MAX_GPAW.
  if (gpaw !== 48n && gpaw !== 52n) return 'EINVAL';
  const hkid = w.nextId++;
  const tdr = allocBlock(w.pfns, 0);
  const create = sc.tdhMngCreate(w.tdx, w.step.seamcall, tdr, hkid);
  // A successful CREATE always names the TD; the second test only narrows.
  if (create.status !== 'TDX_SUCCESS' || create.td === undefined) {
    // Nothing was given to the module yet: the TDR page goes straight back.
    freeFrames(w.pfns, tdr, 1);
    return tdxBug(w, vm, 'TDH.MNG.CREATE');
  }
  const td = create.td;
  t.td = td;
  t.hkid = hkid;
  t.controlPfns.push(tdr);
  if (sc.tdhMngKeyConfig(w.tdx, w.step.seamcall, td).status !== 'TDX_SUCCESS') return initFailed(w, vm, 'TDH.MNG.KEY.CONFIG');
  for (let i = 0; i < TDCS_PAGES; i++) {
    const p = allocBlock(w.pfns, 0);
    if (sc.tdhMngAddcx(w.tdx, w.step.seamcall, td, p).status !== 'TDX_SUCCESS') {
      // A TDCS page the module refused was never added: freed, not reclaimed.
      freeFrames(w.pfns, p, 1);
      return initFailed(w, vm, 'TDH.MNG.ADDCX');
    }
    t.controlPfns.push(p);
  }
  const init = sc.tdhMngInit(w.tdx, w.step.seamcall, td, { maxGpaw: gpaw === 52n });
  if (init.status !== 'TDX_SUCCESS') return initFailed(w, vm, 'TDH.MNG.INIT');
  // tdx_td_init() sets kvm_gfn_direct_bits() (the shared bit) only on success.
  t.gpaw = gpaw === 52n ? 52 : 48;
  t.state = 'INITIALIZED';
  w.step.touched.vms.add(vm.id);
  return null;
}

/** Models tdx_vcpu_init() / tdx_td_vcpu_init(): TDH.VP.CREATE, ADDCX, INIT. */
export function tdxInitVcpu(w: World, vm: TdVm, vcpu: Vcpu, flags: bigint): Errno | null {
  const t = vm.tdx;
  // An HKID implies a created TD; isCreatedTd() narrows to it.
  if (t.hkid === null || !isCreatedTd(vm) || t.state === 'RUNNABLE') return 'EINVAL';
  if (flags !== 0n) return 'EINVAL';
  if (vcpu.tdxInitialized) return 'EINVAL';
  const tdvpr = allocBlock(w.pfns, 0);
  vcpu.tdxPfns.push(tdvpr);
  const vp = sc.tdhVpCreate(w.tdx, w.step.seamcall, vm.tdx.td, tdvpr);
  // A successful VP.CREATE always names the VP; the second test only narrows.
  if (vp.status !== 'TDX_SUCCESS' || vp.vp === undefined) return tdxBug(w, vm, 'TDH.VP.CREATE');
  const vpId = vp.vp;
  vcpu.vp = vpId;
  for (let i = 0; i < TDCX_PAGES; i++) {
    const p = allocBlock(w.pfns, 0);
    vcpu.tdxPfns.push(p);
    if (sc.tdhVpAddcx(w.tdx, w.step.seamcall, vpId, p).status !== 'TDX_SUCCESS') return tdxBug(w, vm, 'TDH.VP.ADDCX');
  }
  if (sc.tdhVpInit(w.tdx, w.step.seamcall, vpId).status !== 'TDX_SUCCESS') return tdxBug(w, vm, 'TDH.VP.INIT');
  vcpu.tdxInitialized = true;
  w.step.touched.vms.add(vm.id);
  return null;
}

/**
 * Models tdx_td_finalize(): BUSY is returned to userspace as EBUSY with the
 * state unchanged; any other failure (e.g. TDX_NO_VCPUS) bugs the VM. The
 * command's flags are not looked at: tdx_td_finalize() never reads cmd->flags.
 */
export function tdxFinalize(w: World, vm: TdVm, _flags: bigint): Errno | null {
  const t = vm.tdx;
  if (t.hkid === null || !isCreatedTd(vm) || t.state === 'RUNNABLE') return 'EINVAL';
  if (w.profile.settings.generation === 'G1' && t.nrPremapped !== 0) return 'EINVAL';
  const r = sc.tdhMrFinalize(w.tdx, w.step.seamcall, vm.tdx.td);
  w.step.out.hw_error = sc.statusValue(r.status);
  if (isBusy(r.status)) return 'EBUSY';
  if (r.status !== 'TDX_SUCCESS') return tdxBug(w, vm, 'TDH.MR.FINALIZE');
  t.state = 'RUNNABLE';
  t.preFaultAllowed = true;
  w.step.touched.vms.add(vm.id);
  return null;
}
