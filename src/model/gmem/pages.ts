// Page-cache operations of guest_memfd: allocate (fallocate and faults), get a
// page for exposure (zeroing it once, kvm_gmem_get_folio() +
// folio_mark_uptodate()), and truncate (kvm_gmem_punch_hole()'s second half).

import { allocBlock, allocFrames, freeFrames } from '../host/pfnspace.js';
import { writeFrame, readFrame } from '../phys.js';
import { alignDown, asPfn, pfnAdd, type Order, type Pfn } from '../units.js';
import type { World } from '../world.js';
import type { Gmem } from './file.js';
import { lookupPage, runsIn, setRun, dropRun } from './inode.js';
import { fault } from '../faults.js';

/** The index ranges of [start, end) that have no page cached. */
export function holes(g: Gmem, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let cursor = start;
  for (const r of runsIn(g.inode, start, end)) {
    if (r.start > cursor) out.push([cursor, r.start]);
    cursor = r.end;
  }
  if (cursor < end) out.push([cursor, end]);
  return out;
}

/**
 * Allocate every missing page of [start, end). HugeTLB guest_memfd allocates
 * whole folios: a fully missing folio gets one aligned huge block; a folio
 * that is partly present (it was split and partly truncated) is refilled with
 * 4 KiB pages. Models kvm_gmem_allocate() / kvm_gmem_get_folio().
 */
export function allocatePages(w: World, g: Gmem, start: number, end: number): void {
  const order = g.inode.allocOrder;
  const n = 2 ** order;
  if (order === 0) {
    for (const [hs, he] of holes(g, start, end)) {
      let idx = hs;
      for (const e of allocFrames(w.pfns, he - hs, 0)) {
        setRun(g.inode, idx, idx + e.count, { delta: e.pfn - idx, order: 0, uptodate: false });
        idx += e.count;
      }
    }
    return;
  }
  const fs = alignDown(start, n);
  const fe = Math.min(alignDown(end - 1, n) + n, g.inode.sizePages);
  for (let f = fs; f < fe; f += n) {
    const gaps = holes(g, f, f + n);
    if (gaps.length === 1 && gaps[0][0] === f && gaps[0][1] === f + n) {
      const pfn = allocBlock(w.pfns, order as Order);
      setRun(g.inode, f, f + n, { delta: pfn - f, order, uptodate: false });
      continue;
    }
    for (const [hs, he] of gaps) {
      if (he <= start || hs >= end) continue;
      let idx = hs;
      for (const e of allocFrames(w.pfns, he - hs, 0)) {
        setRun(g.inode, idx, idx + e.count, { delta: e.pfn - idx, order: 0, uptodate: false });
        idx += e.count;
      }
    }
  }
}

/**
 * Zero a page before anyone sees it for the first time: models the
 * clear_highpage() of kvm_gmem_prepare_folio() (and of the guest_memfd
 * fault path). The one fault point of skip-zero-on-fault.
 */
function clearForExposure(w: World, pfn: Pfn): void {
  if (!fault(w, 'skip-zero-on-fault')) writeFrame(w.phys, pfn, 0);
}

/**
 * Get the page at `index` for exposure to the guest, the host or populate:
 * allocate it if needed and zero it the first time anyone sees it.
 */
export function getPageForExposure(w: World, g: Gmem, index: number, by: 'guest' | 'host' | 'populate'): Pfn {
  if (!lookupPage(g.inode, index)) allocatePages(w, g, index, index + 1);
  const page = lookupPage(g.inode, index)!;
  if (!page.uptodate) {
    clearForExposure(w, page.pfn);
    setRun(g.inode, index, index + 1, { delta: page.pfn - index, order: page.order, uptodate: true });
    w.step.firstExposures.push({ pfn: page.pfn, byte: readFrame(w.phys, page.pfn), by });
  }
  w.step.touched.pfns.add(page.pfn);
  return page.pfn;
}

/**
 * Forget that the page at `index` was prepared: G1's kvm_gmem_populate()
 * marks a folio prepared only when the vendor callback succeeded, so a
 * failed populate can be retried.
 */
export function markNotPrepared(g: Gmem, index: number): void {
  const page = lookupPage(g.inode, index);
  if (page) setRun(g.inode, index, index + 1, { delta: page.pfn - index, order: page.order, uptodate: false });
}

/**
 * Expose every page of [start, end) at once (a huge mapping): allocate what
 * is missing, zero what was never seen, one run at a time rather than one
 * page at a time.
 */
export function exposeRange(w: World, g: Gmem, start: number, end: number, by: 'guest' | 'host' | 'populate'): void {
  if (holes(g, start, end).length > 0) allocatePages(w, g, start, end);
  for (const r of runsIn(g.inode, start, end)) {
    if (r.value.uptodate) continue;
    for (let i = r.start; i < r.end; i++) {
      const pfn = asPfn(i + r.value.delta);
      clearForExposure(w, pfn);
      const byte = readFrame(w.phys, pfn);
      if (byte !== 0 || w.step.firstExposures.length < 64) w.step.firstExposures.push({ pfn, byte, by });
    }
    setRun(g.inode, r.start, r.end, { ...r.value, uptodate: true });
  }
}

/** Remove [start, end) from the page cache and free its frames; pinned frames wait for their last unpin. */
export function truncatePages(w: World, g: Gmem, start: number, end: number): void {
  for (const r of runsIn(g.inode, start, end)) {
    const first = asPfn(r.start + r.value.delta);
    const count = r.end - r.start;
    // Walk the (few) pinned frames, never the frames of the run itself.
    const pinned = [...w.pins.keys()].filter((p) => p >= first && p < first + count).sort((a, b) => a - b);
    let runStart = first;
    for (const pfn of pinned) {
      freeFrames(w.pfns, runStart, pfn - runStart);
      w.orphans.add(pfn);
      runStart = pfnAdd(pfn, 1);
    }
    freeFrames(w.pfns, runStart, first + count - runStart);
    w.step.freedSeq.push({ pfn: first, count, seq: w.step.seamcall.log.length, mappedBy: w.step.trace?.framesFreed(first, pfnAdd(first, count)) ?? [] });
  }
  dropRun(g.inode, start, end);
  w.step.touched.gmems.add(g.id);
}
