// KVM's S-EPT hooks: what a mirror-root change asks of the TDX module, as
// the table of external SPTE ops the MMU calls (tdxExternalOps). Models
// tdx_sept_set_private_spte() (tdx_sept_map_leaf_spte(), tdx_mem_page_add(),
// tdx_mem_page_aug()), tdx_sept_link_private_spt(),
// tdx_sept_remove_leaf_spte() with tdx_track(), and the demote hook of the
// hugepage series. Only PFNs and levels cross into the module; the
// folio-taking wrappers of the hugepage-folio design live in
// mmu/folio_seamcall.ts, outside tdx/.

import type { Errno } from '../errno.js';
import { allocBlock } from '../host/pfnspace.js';
import type { Spte } from '../mmu/spte.js';
import * as sc from '../tdx/seamcall.js';
import { isBusy, type TdxStatus } from '../tdx/status.js';
import { gfnToGpa, levelBase, tableKey, type Gfn, type Gpa, type Level, type Pfn, type TableLevel } from '../units.js';
import type { World } from '../world.js';
import { folioAug, folioWbinvd } from '../mmu/folio_seamcall.js';
import type { ExternalSpteOps, SetExternalResult } from '../mmu/ops.js';
import { tdxBug } from './tdx_bug.js';
import { isCreatedTd, type KvmTdx, type TdVm, type Vm } from './vm.js';
import { fault } from '../faults.js';
import { vmDead } from './lifetime.js';

/** GPA of a GFN (the private alias: shared bit clear): what crosses into the module. */
export const gpaOf = (gfn: Gfn): Gpa => gfnToGpa(gfn);

/**
 * Once bugged, KVM issues no further map SEAMCALL for the VM (TDX_BUG_ON,
 * KVM_REQ_VM_DEAD). Zaps and teardown still reach the module: the remove
 * hook does not look at whether the VM is bugged.
 */
export function tdxSilenced(w: World, vm: Vm): boolean {
  return vm.bugged && vmDead(w, vm);
}

/** Map a status to KVM's reaction: BUSY is retried by the caller, anything else bugs the VM. */
function react(w: World, vm: Vm, status: TdxStatus, what: string): Errno | null {
  if (status === 'TDX_SUCCESS') return null;
  if (isBusy(status)) return 'EBUSY';
  return tdxBug(w, vm, `${what} -> ${status}`);
}

/** The frame of KVM's S-EPT table at `level` covering `gfn`: allocated on first use, kept until teardown. */
function septTable(w: World, t: KvmTdx, level: TableLevel, gfn: Gfn): Pfn {
  const key = tableKey(level, gfn);
  let pfn = t.septPfns.get(key);
  if (pfn === undefined) {
    pfn = allocBlock(w.pfns, 0);
    t.septPfns.set(key, pfn);
  }
  return pfn;
}

/** Models tdx_sept_link_private_spt(): TDH.MEM.SEPT.ADD of the table under a non-leaf entry. */
export function tdxAddTable(w: World, vm: Vm, level: TableLevel, gfn: Gfn): Errno | null {
  if (tdxSilenced(w, vm)) return 'EIO';
  // to_kvm_tdx(): the hooks are registered for TDs only, and an HKID implies a created TD.
  if (!isCreatedTd(vm) || vm.tdx.hkid === null) return tdxBug(w, vm, 'SEPT.ADD without HKID');
  const t = vm.tdx;
  const pfn = septTable(w, t, level, gfn);
  const base = levelBase(gfn, level);
  const r = sc.tdhMemSeptAdd(w.tdx, w.step.seamcall, t.td, gpaOf(base), level, pfn);
  return react(w, vm, r.status, 'TDH.MEM.SEPT.ADD');
}

/** Install hook for a mirror leaf: PAGE.ADD before finalize, PAGE.AUG after (G1: pre-map, no SEAMCALL). */
export function tdxMapLeaf(w: World, vm: Vm, base: Gfn, level: Level, spte: Spte): SetExternalResult {
  if (tdxSilenced(w, vm)) return 'EIO';
  if (!isCreatedTd(vm) || vm.tdx.hkid === null) return tdxBug(w, vm, 'map without HKID');
  const t = vm.tdx;
  if (level !== 0 && !w.profile.settings.hugeMappings) return tdxBug(w, vm, 'non-4K private leaf');
  if (t.state !== 'RUNNABLE') {
    const src = t.pageAddSrc;
    if (src === null || t.preFaultAllowed) return tdxBug(w, vm, 'PAGE.ADD outside INIT_MEM_REGION');
    if (level !== 0) return tdxBug(w, vm, 'PAGE.ADD above 4K');
    if (w.profile.settings.generation === 'G1') {
      // G1 pre-maps: the leaf goes in with no SEAMCALL; PAGE.ADD follows outside mmu_lock.
      t.nrPremapped++;
      return 'premapped';
    }
    const r = sc.tdhMemPageAdd(w.tdx, w.step.seamcall, t.td, gpaOf(base), spte.pfn, src);
    return react(w, vm, r.status, 'TDH.MEM.PAGE.ADD');
  }
  const r = w.profile.settings.folioWrappers
    ? folioAug(w, t.td, gpaOf(base), level, spte.pfn)
    : sc.tdhMemPageAug(w.tdx, w.step.seamcall, t.td, gpaOf(base), level, spte.pfn);
  return react(w, vm, r.status, 'TDH.MEM.PAGE.AUG');
}

/** Issue one zap-path SEAMCALL, retrying once on BUSY as tdh_do_no_vcpus() does. */
function retryOnce(f: () => { status: TdxStatus }): TdxStatus {
  const r = f();
  return isBusy(r.status) ? f().status : r.status;
}

/**
 * G1's tdx_is_sept_zap_err_due_to_premap(): before finalize, a BLOCK that
 * finds the entry FREE means the leaf was pre-mapped and never ADDed.
 */
function zapOfPremapped(vm: TdVm, s: TdxStatus): boolean {
  const t = vm.tdx;
  return s === 'TDX_EPT_ENTRY_STATE_INCORRECT' && t.state !== 'RUNNABLE' && t.nrPremapped > 0;
}

/**
 * Remove hook for a mirror leaf (tdx.md §5.2): BLOCK, TRACK when RUNNABLE,
 * REMOVE, WBINVD. Any failure bugs the VM and stops; the caller clears the
 * mirror leaf regardless. Runs for bugged VMs too.
 */
export function tdxUnmapLeaf(w: World, vm: Vm, base: Gfn, level: Level, old: Spte): void {
  if (!isCreatedTd(vm) || vm.tdx.hkid === null) {
    tdxBug(w, vm, 'remove without HKID');
    return;
  }
  const t = vm.tdx;
  const td = t.td;
  const hkid = vm.tdx.hkid;
  const gpa = gpaOf(base);
  const ctx = w.step.seamcall;
  let s = retryOnce(() => sc.tdhMemRangeBlock(w.tdx, ctx, td, gpa, level));
  if (zapOfPremapped(vm, s)) {
    // G1: the leaf was never ADDed; the failed BLOCK tells KVM so, and only the count changes.
    t.nrPremapped--;
    return;
  }
  if (s !== 'TDX_SUCCESS') return void tdxBug(w, vm, `TDH.MEM.RANGE.BLOCK -> ${s}`);
  if (t.state === 'RUNNABLE' && !fault(w, 'remove-without-track')) {
    s = retryOnce(() => sc.tdhMemTrack(w.tdx, ctx, td));
    if (s !== 'TDX_SUCCESS') return void tdxBug(w, vm, `TDH.MEM.TRACK -> ${s}`);
  }
  s = retryOnce(() => sc.tdhMemPageRemove(w.tdx, ctx, td, gpa, level));
  if (s !== 'TDX_SUCCESS') return void tdxBug(w, vm, `TDH.MEM.PAGE.REMOVE -> ${s}`);
  const wb = w.profile.settings.folioWrappers
    ? folioWbinvd(w, hkid, old.pfn, level)
    : sc.tdhPhymemPageWbinvd(w.tdx, ctx, hkid, old.pfn, level);
  if (wb.status !== 'TDX_SUCCESS') tdxBug(w, vm, `TDH.PHYMEM.PAGE.WBINVD -> ${wb.status}`);
}

/** Models the demote hook: BLOCK the 2 MiB leaf, TRACK when RUNNABLE, then DEMOTE onto a new S-EPT table. */
export function tdxSplitLeaf(w: World, vm: Vm, base: Gfn, _old: Spte): Errno | null {
  if (tdxSilenced(w, vm)) return 'EIO';
  if (!isCreatedTd(vm) || vm.tdx.hkid === null) return tdxBug(w, vm, 'demote without HKID');
  const t = vm.tdx;
  const td = t.td;
  const ctx = w.step.seamcall;
  const gpa = gpaOf(base);
  let s = retryOnce(() => sc.tdhMemRangeBlock(w.tdx, ctx, td, gpa, 1));
  if (s !== 'TDX_SUCCESS') return tdxBug(w, vm, `TDH.MEM.RANGE.BLOCK -> ${s}`);
  if (t.state === 'RUNNABLE') {
    s = retryOnce(() => sc.tdhMemTrack(w.tdx, ctx, td));
    if (s !== 'TDX_SUCCESS') return tdxBug(w, vm, `TDH.MEM.TRACK -> ${s}`);
  }
  const table = septTable(w, t, 1, base);
  s = retryOnce(() => sc.tdhMemPageDemote(w.tdx, ctx, td, gpa, 1, table));
  if (s !== 'TDX_SUCCESS') return tdxBug(w, vm, `TDH.MEM.PAGE.DEMOTE -> ${s}`);
  return null;
}

/**
 * The TDX table of external SPTE ops (the S-EPT members of vt_x86_ops),
 * registered by tdxVmInit() when a TD is created.
 */
export const tdxExternalOps: ExternalSpteOps = {
  linkExternalSpt: tdxAddTable,
  setExternalSpte: tdxMapLeaf,
  removeExternalSpte: tdxUnmapLeaf,
  splitExternalSpte: tdxSplitLeaf,
};
