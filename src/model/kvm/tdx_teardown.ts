// TD teardown (tdx.md §1.4), run by kvm_destroy_vm() once the last reference
// is gone and every private leaf was zapped: release the HKID
// (tdx_mmu_release_hkid()), then reclaim vCPU, S-EPT and TD control pages
// (tdx_vcpu_free(), tdx_sept_free_private_spt(),
// tdx_reclaim_td_control_pages()). A failed reclaim leaks the page; a leaked
// HKID leaks every page the TD owns.

import { freeFrames } from '../host/pfnspace.js';
import { unlinkAllTables } from '../mmu/funnel.js';
import * as sc from '../tdx/seamcall.js';
import type { Pfn } from '../units.js';
import type { World } from '../world.js';
import { tdxBug } from './tdx_bug.js';
import { isCreatedTd, type CreatedTd, type TdVm } from './vm.js';
import { fault } from '../faults.js';

/** Reclaim a control or S-EPT page; on failure the page leaks (tdx_reclaim_control_page()). */
function reclaim(w: World, pfn: Pfn): boolean {
  const r = sc.tdhPhymemPageReclaim(w.tdx, w.step.seamcall, pfn);
  if (r.status !== 'TDX_SUCCESS') {
    w.step.events.push(`leak pfn 0x${pfn.toString(16)}: RECLAIM -> ${r.status}`);
    return false;
  }
  return true;
}

function reclaimAndFree(w: World, pfn: Pfn): void {
  if (reclaim(w, pfn) || fault(w, 'teardown-frees-unreclaimed')) freeFrames(w.pfns, pfn, 1);
}

/**
 * Models tdx_mmu_release_hkid(): flush every initialized vCPU, VPFLUSHDONE,
 * CACHE.WB, KEY.FREEID. Returns whether the HKID was freed; when it was not,
 * the HKID and every page of the TD leak.
 */
function releaseHkid(w: World, vm: CreatedTd): boolean {
  const t = vm.tdx;
  const td = t.td;
  const ctx = w.step.seamcall;
  for (const id of vm.vcpus) {
    const vcpu = w.vcpus.get(id)!;
    // tdx_flush_vp() skips a vCPU that never finished KVM_TDX_INIT_VCPU.
    if (!vcpu.tdxInitialized || vcpu.vp === null) continue;
    // tdx_flush_vp_on_cpu(): an error is a TDX_BUG_ON, and the HKID leaks.
    const f = sc.tdhVpFlush(w.tdx, ctx, vcpu.vp).status;
    if (f !== 'TDX_SUCCESS') {
      tdxBug(w, vm, `TDH.VP.FLUSH -> ${f}; HKID leaked`);
      return false;
    }
  }
  const done = sc.tdhMngVpflushdone(w.tdx, ctx, td);
  if (done.status === 'TDX_FLUSHVP_NOT_DONE') {
    w.step.events.push(`vm${vm.id}: VPFLUSHDONE not done, HKID leaked`);
    return false;
  }
  if (done.status !== 'TDX_SUCCESS') {
    tdxBug(w, vm, `TDH.MNG.VPFLUSHDONE -> ${done.status}; HKID leaked`);
    return false;
  }
  sc.tdhPhymemCacheWb(w.tdx, ctx);
  const r = sc.tdhMngKeyFreeid(w.tdx, ctx, td);
  if (r.status !== 'TDX_SUCCESS') {
    tdxBug(w, vm, `TDH.MNG.KEY.FREEID -> ${r.status}; HKID leaked`);
    return false;
  }
  t.hkid = null;
  return true;
}

/**
 * Models tdx_reclaim_td_control_pages(): the TDCS pages in order, then the
 * TDR, which is flushed with the global KeyID (TDH.PHYMEM.PAGE.WBINVD) before
 * it goes back to the host.
 */
function reclaimTdControlPages(w: World, vm: TdVm): void {
  const t = vm.tdx;
  const [tdr, ...tdcs] = t.controlPfns;
  for (const pfn of tdcs) reclaimAndFree(w, pfn);
  t.controlPfns = [];
  if (tdr === undefined || !reclaim(w, tdr)) return;
  const wb = sc.tdhPhymemPageWbinvdTdr(w.tdx, w.step.seamcall, tdr);
  if (wb.status !== 'TDX_SUCCESS') {
    tdxBug(w, vm, `TDH.PHYMEM.PAGE.WBINVD of the TDR -> ${wb.status}`);
    return;
  }
  freeFrames(w.pfns, tdr, 1);
}

/** The teardown __tdx_td_init() runs when INIT_VM fails after TDH.MNG.CREATE. */
export function tdxUndoInit(w: World, vm: TdVm): void {
  // An HKID implies a created TD; isCreatedTd() narrows to it.
  if (vm.tdx.hkid !== null && isCreatedTd(vm) && !releaseHkid(w, vm)) return;
  reclaimTdControlPages(w, vm);
}

/**
 * Models the TDX part of kvm_destroy_vm(). A bugged VM is torn down the same
 * way: TDX_BUG_ON stops the map path only, and neither
 * tdx_mmu_release_hkid() nor the reclaims look at whether the VM is bugged.
 */
export function tdxDestroyVm(w: World, vm: TdVm): void {
  const t = vm.tdx;
  t.preFaultAllowed = false;
  if (isCreatedTd(vm) && (t.hkid === null || releaseHkid(w, vm))) {
    // tdx_vcpu_free(): the TDCX pages, then the TDVPR.
    for (const id of vm.vcpus) {
      const [tdvpr, ...tdcx] = w.vcpus.get(id)!.tdxPfns;
      for (const pfn of tdcx) reclaimAndFree(w, pfn);
      if (tdvpr !== undefined) reclaimAndFree(w, tdvpr);
    }
    for (const pfn of t.septPfns.values()) reclaimAndFree(w, pfn);
    t.septPfns.clear();
    unlinkAllTables(w, vm, 'mirror');
    reclaimTdControlPages(w, vm);
  } else if (t.td !== null) {
    w.step.events.push(`vm${vm.id}: HKID leaked, TD pages leaked at teardown`);
  }
  t.state = 'UNINITIALIZED';
}
