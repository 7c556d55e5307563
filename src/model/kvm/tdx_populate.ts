// KVM_TDX_INIT_MEM_REGION's per-page loop (tdx.md §2.3 step 8): one
// kvm_gmem_populate() call per page, whose callback tdx_gmem_post_populate()
// maps the page through kvm_tdp_mmu_map_private_pfn() (PAGE.ADD) and
// measures it with 16 MR.EXTENDs. Partial progress is reported back.

import type { Errno } from '../errno.js';
import { getPageForExposure, markNotPrepared } from '../gmem/pages.js';
import { lookupPage } from '../gmem/inode.js';
import { mappingAt } from '../host/mapping.js';
import { hostFault } from '../gmem/fault.js';
import { readFrame } from '../phys.js';
import * as sc from '../tdx/seamcall.js';
import { isBusy } from '../tdx/status.js';
import type { World } from '../world.js';
import { gfnOfUapiGpa, gpaAdd, type Gfn, type Pfn } from '../units.js';
import { isPrivateGfn } from './attrs.js';
import { findSlot, gmemIndex } from './memslot.js';
import { gpaOf } from './tdx_mmu.js';
import { mapPrivate, spuriousCheck } from './tdx_fault.js';
import { leafFor } from '../mmu/spte.js';
import { clearPremapped } from '../mmu/funnel.js';
import { tdxBug } from './tdx_bug.js';
import type { CreatedTd } from './vm.js';
import { fault } from '../faults.js';

/** Choice: a call adds at most this many pages, as if a signal then arrived (EINTR with progress). */
export const POPULATE_PAGE_LIMIT = 4096;

export interface RegionCursor {
  source: bigint;
  gpa: bigint;
  nrPages: bigint;
}

/** Where the source bytes of one page come from: a frame, or none (EFAULT). */
function sourceFrame(w: World, source: bigint): Pfn | null {
  const m = mappingAt(w.mappings.values(), source);
  if (!m) return null;
  const p = hostFault(w, m, source - m.va);
  return p.ok ? p.pfn : null;
}

/**
 * Populate one page. Returns null on success; the errno otherwise. Models
 * kvm_gmem_populate() (slot, file, GUP, folio, privacy) and
 * tdx_gmem_post_populate(). G3 GUPs the source before guest_memfd's checks;
 * G1 refuses an already-prepared page (EEXIST) and a shared GFN (EINVAL)
 * first and GUPs the source inside the TDX hook.
 */
function populateOne(w: World, vm: CreatedTd, cur: RegionCursor, measure: boolean, nullSource: boolean): Errno | null {
  const s = w.profile.settings;
  const gfn = gfnOfUapiGpa(cur.gpa);
  const slot = findSlot(vm.memslots, gfn);
  if (!slot || !slot.hasGmemFlag) return 'EINVAL';
  const g = slot.gmemId === null ? undefined : w.gmems.get(slot.gmemId);
  if (!g || g.released) return 'EFAULT';
  let src: Pfn | null = null;
  if (!nullSource && s.sourceGup === 'before-gmem') {
    src = sourceFrame(w, cur.source);
    if (src === null) return 'EFAULT';
  }
  const index = gmemIndex(slot, gfn);
  if (s.populateRefusesPrepared && lookupPage(g.inode, index)?.uptodate) return 'EEXIST';
  if (!isPrivateGfn(w, vm, gfn)) return 'EINVAL';
  if (!nullSource && s.sourceGup === 'in-hook') {
    src = sourceFrame(w, cur.source);
    if (src === null) return 'EFAULT';
  }
  const present = leafFor(vm.mmu.mirror, gfn);
  if (s.generation === 'G1' && present && !present.spte.premapped && spuriousCheck(w)) {
    // Choice: G1's kvm_tdp_map_page() takes the present leaf as success and
    // PAGE.ADD is refused by the module (EIO); the model answers EIO without it.
    return 'EIO';
  }
  const pfn = getPageForExposure(w, g, index, 'populate');
  const srcPfn = src ?? pfn;
  const t = vm.tdx;
  w.step.populated.push({ vmId: vm.id, gfn, pfn, srcByte: readFrame(w.phys, srcPfn), nullSource });
  t.pageAddSrc = srcPfn;
  const m = mapPrivate(w, vm, gfn, pfn, 0);
  t.pageAddSrc = null;
  const retryPremapped = m === 'spurious' && s.generation === 'G1' && present?.spte.premapped === true;
  if (m === 'spurious' && !retryPremapped) return fault(w, 'spurious-returns-success') ? null : 'EIO';
  const failed = (e: Errno): Errno => {
    if (s.populateRefusesPrepared) markNotPrepared(g, index);
    return e;
  };
  if (m !== 'fixed' && m !== 'spurious') return failed(m);
  if (s.generation === 'G1') {
    const e = g1PageAdd(w, vm, gfn, srcPfn);
    if (e) return failed(e);
  }
  if (measure) {
    const chunks = fault(w, 'extend-skips-chunk') ? 15 : 16;
    for (let k = 0; k < chunks; k++) {
      const r = sc.tdhMrExtend(w.tdx, w.step.seamcall, t.td, gpaAdd(gpaOf(gfn), k * 256));
      if (r.status === 'TDX_SUCCESS') continue;
      return s.mrExtendErrorBugs ? tdxBug(w, vm, `TDH.MR.EXTEND -> ${r.status}`) : failed('EIO');
    }
  }
  return null;
}

/** G1: the PAGE.ADD after pre-mapping; BUSY and errors reach userspace and leave the leaf pre-mapped. */
function g1PageAdd(w: World, vm: CreatedTd, gfn: Gfn, srcPfn: Pfn): Errno | null {
  const t = vm.tdx;
  const leaf = leafFor(vm.mmu.mirror, gfn)!;
  const r = sc.tdhMemPageAdd(w.tdx, w.step.seamcall, t.td, gpaOf(gfn), leaf.spte.pfn, srcPfn);
  if (isBusy(r.status)) return 'EBUSY';
  if (r.status !== 'TDX_SUCCESS') return 'EIO';
  clearPremapped(w, vm, leaf.base);
  t.nrPremapped--;
  return null;
}

/** The loop of tdx_vcpu_init_mem_region(): 0 when every page is done, else the first error with the cursor advanced. */
export function populateRegion(w: World, vm: CreatedTd, cur: RegionCursor, measure: boolean, nullSource: boolean): Errno | null {
  let done = 0;
  while (cur.nrPages > 0n) {
    if (done === POPULATE_PAGE_LIMIT) return 'EINTR';
    const e = populateOne(w, vm, cur, measure, nullSource);
    if (e) return e;
    if (!nullSource) cur.source += 4096n;
    cur.gpa += 4096n;
    cur.nrPages -= 1n;
    done++;
  }
  return null;
}
