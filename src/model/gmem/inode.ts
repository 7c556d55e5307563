// The guest_memfd inode: the physical memory of one guest_memfd (its page
// cache) and, with in-place conversion, its per-index shared/private
// attributes. Models the inode side of virt/kvm/guest_memfd.c; only host/ and
// gmem/ know what a folio is.

import { newIntervalMap, segmentAt, segmentsIn, setRange, clearRange, type IntervalMap } from '../intervals.js';
import { alignDown, asPfn, type Order, type Pfn } from '../units.js';

/**
 * A run of cached pages. `delta` is pfn - index, so a run can be split or
 * clipped without rewriting it; `order` is the order of the folios the run is
 * made of (folios are aligned in both index and PFN space).
 */
export interface PageRun {
  delta: number;
  order: Order;
  uptodate: boolean;
}

export interface GmemInode {
  sizePages: number;
  flags: bigint;
  /** Order of freshly allocated folios: 0, or 9/18 for HugeTLB guest_memfd. */
  allocOrder: Order;
  pages: IntervalMap<PageRun>;
  /** In-place attributes: an index is private iff it is in this map. */
  priv: IntervalMap<true>;
}

export const sameRun = (a: PageRun, b: PageRun): boolean =>
  a.delta === b.delta && a.order === b.order && a.uptodate === b.uptodate;

export function newInode(sizePages: number, flags: bigint, allocOrder: Order, initShared: boolean): GmemInode {
  const inode: GmemInode = { sizePages, flags, allocOrder, pages: newIntervalMap(), priv: newIntervalMap() };
  if (!initShared) setRange(inode.priv, 0, sizePages, true);
  return inode;
}

export interface CachedPage {
  pfn: Pfn;
  order: Order;
  uptodate: boolean;
}

export function lookupPage(inode: GmemInode, index: number): CachedPage | undefined {
  const seg = segmentAt(inode.pages, index);
  if (!seg) return undefined;
  return { pfn: asPfn(index + seg.value.delta), order: seg.value.order, uptodate: seg.value.uptodate };
}

/** The folio holding `index`, as an index range and its first PFN. */
export function folioOf(inode: GmemInode, index: number): { start: number; end: number; pfn: Pfn } | undefined {
  const seg = segmentAt(inode.pages, index);
  if (!seg) return undefined;
  const n = 2 ** seg.value.order;
  const start = alignDown(index, n);
  return { start, end: start + n, pfn: asPfn(start + seg.value.delta) };
}

export function setRun(inode: GmemInode, start: number, end: number, run: PageRun): void {
  setRange(inode.pages, start, end, run, sameRun);
}

export function dropRun(inode: GmemInode, start: number, end: number): void {
  clearRange(inode.pages, start, end);
}

export function runsIn(inode: GmemInode, start: number, end: number) {
  return segmentsIn(inode.pages, start, end);
}

export function isIndexPrivate(inode: GmemInode, index: number): boolean {
  return segmentAt(inode.priv, index) !== undefined;
}

/** Split every folio overlapping [start, end) down to order 0 (a HugeTLB split). */
export function splitFolios(inode: GmemInode, start: number, end: number): boolean {
  let changed = false;
  for (const s of segmentsIn(inode.pages, start, end)) {
    if (s.value.order === 0) continue;
    const n = 2 ** s.value.order;
    const fs = alignDown(s.start, n);
    const fe = alignDown(s.end - 1, n) + n;
    for (const r of segmentsIn(inode.pages, fs, fe)) setRun(inode, r.start, r.end, { ...r.value, order: 0 });
    changed = true;
  }
  return changed;
}
