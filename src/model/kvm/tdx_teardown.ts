// TD teardown (tdx.md §1.4), run by kvm_destroy_vm() once the last reference
// is gone and every private leaf was zapped: release the HKID
// (tdx_mmu_release_hkid()), then reclaim vCPU, S-EPT and TD control pages
// (tdx_vcpu_free(), tdx_sept_free_private_spt(),
// tdx_reclaim_td_control_pages()). A failed reclaim leaks the page.

import { freeFrames } from '../host/pfnspace.js';
import * as sc from '../tdx/seamcall.js';
import type { Pfn } from '../units.js';
import type { World } from '../world.js';
import { tdxBug } from './tdx_bug.js';
import type { Vm } from './vm.js';

function reclaim(w: World, pfn: Pfn): void {
  const r = sc.tdhPhymemPageReclaim(w.tdx, w.step.seamcall, pfn);
  if (r.status === 'TDX_SUCCESS') freeFrames(w.pfns, pfn, 1);
  else w.step.events.push(`leak pfn 0x${pfn.toString(16)}: RECLAIM -> ${r.status}`);
}

export function tdxDestroyVm(w: World, vm: Vm): void {
  const t = vm.tdx!;
  t.preFaultAllowed = false;
  if (t.td === null) return;
  if (vm.bugged && !w.bugs.has('bugged-vm-keeps-answering')) {
    // A bugged VM issues no more SEAMCALLs: its HKID and every page it owns leak.
    w.step.events.push(`vm${vm.id} bugged: HKID and TD pages leaked at teardown`);
    if (w.bugs.has('bugged-teardown-frees-tdcs')) for (const pfn of t.controlPfns) freeFrames(w.pfns, pfn, 1);
    t.state = 'UNINITIALIZED';
    return;
  }
  const ctx = w.step.seamcall;
  if (t.hkid !== null) {
    for (const id of vm.vcpus) {
      const vcpu = w.vcpus.get(id)!;
      const f = vcpu.vp === null ? 'TDX_SUCCESS' : sc.tdhVpFlush(w.tdx, ctx, vcpu.vp).status;
      // tdx_flush_vp_on_cpu(): an error is a TDX_BUG_ON; a bugged VM issues nothing more, so the HKID leaks.
      if (f !== 'TDX_SUCCESS') return void tdxBug(w, vm, `TDH.VP.FLUSH -> ${f}`);
    }
    // TDX_FLUSHVP_NOT_DONE gives up quietly, any other error is a TDX_BUG_ON; either way the HKID and every TD page leak.
    const done = sc.tdhMngVpflushdone(w.tdx, ctx, t.td).status;
    if (done === 'TDX_FLUSHVP_NOT_DONE') return void w.step.events.push(`vm${vm.id}: VPFLUSHDONE not done, HKID leaked`);
    if (done !== 'TDX_SUCCESS') return void tdxBug(w, vm, `TDH.MNG.VPFLUSHDONE -> ${done}`);
    sc.tdhPhymemCacheWb(w.tdx, ctx);
    const r = sc.tdhMngKeyFreeid(w.tdx, ctx, t.td);
    if (r.status !== 'TDX_SUCCESS') {
      // The HKID leaks, and with it every page the TD still owns.
      tdxBug(w, vm, `TDH.MNG.KEY.FREEID -> ${r.status}`);
      return;
    }
    t.hkid = null;
  }
  for (const id of vm.vcpus) for (const pfn of w.vcpus.get(id)!.tdxPfns) reclaim(w, pfn);
  for (const pfn of t.septPfns.values()) reclaim(w, pfn);
  t.septPfns.clear();
  vm.mmu.mirror.tables.clear();
  for (const pfn of [...t.controlPfns].reverse()) reclaim(w, pfn);
  t.controlPfns = [];
  t.state = 'UNINITIALIZED';
}
