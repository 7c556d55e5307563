// Frame arithmetic for the frame-liveness and no-unexpected-bug invariants,
// written here rather than borrowed from the model: which frames the host
// allocator holds as free, which frames every object of the model refers to,
// and which TDs belong to a bugged VM. Only plain fields of the model are read.

import type { World } from '../model/world.js';
import { pagesAt, pamtEntry, pamtRuns } from '../model/view.js';

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** Frames a leaf of each level covers: 4 KiB, 2 MiB, 1 GiB. */

export interface Span {
  start: number;
  /** Exclusive. */
  end: number;
}

/** Index of the first span whose end is above x (spans sorted and disjoint). */
function firstEndingAfter(spans: readonly Span[], x: number): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (spans[mid].end <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The host allocator's free frames: the spans it took back, and every frame
 * at or above the first it never handed out.
 */
export interface FreeList {
  spans: readonly Span[];
  bump: number;
}

export function freeListOf(w: World): FreeList {
  return { spans: w.pfns.free.segs, bump: w.pfns.bump };
}

/** The first free frame of [start, end), if any. */
export function firstFreeIn(f: FreeList, start: number, end: number): number | undefined {
  const i = firstEndingAfter(f.spans, start);
  const s = f.spans[i];
  let hit: number | undefined;
  if (s && s.start < end) hit = Math.max(s.start, start);
  if (end > f.bump && (hit === undefined || f.bump < hit)) hit = Math.max(f.bump, start);
  return hit;
}

/**
 * Frames free now that were handed out before the step: the spans of `now`
 * below the old bump pointer that `before` did not hold. Costs the number of
 * spans, never the number of frames.
 */
export function newlyFreed(before: FreeList, now: FreeList): Span[] {
  const out: Span[] = [];
  for (const s of now.spans) {
    const end = Math.min(s.end, before.bump);
    let cursor = s.start;
    if (cursor >= end) continue;
    for (let i = firstEndingAfter(before.spans, cursor); i < before.spans.length && cursor < end; i++) {
      const b = before.spans[i];
      if (b.start >= end) break;
      if (b.start > cursor) out.push({ start: cursor, end: b.start });
      cursor = Math.max(cursor, b.end);
    }
    if (cursor < end) out.push({ start: cursor, end });
  }
  return out;
}

/** The TD ids whose KVM VM is bugged: after TDX_BUG_ON their pages may leak (tdx.md §5.4). */
export function buggedTds(w: World): Set<number> {
  const out = new Set<number>();
  for (const vm of w.vms.values()) if (vm.bugged && vm.tdx?.td != null) out.add(vm.tdx.td);
  return out;
}

/**
 * The frames the PAMT assigns (entries `keep` accepts) that the host
 * allocator holds as free: the first such frame of each run of consecutive
 * entries, so a 2 MiB page's 512 entries cost one free-list lookup. Stops
 * when `visit` returns true.
 */
export function forEachFreeAssigned(w: World, keep: (e: { type: string; owner: number }) => boolean, visit: (pfn: number, e: { type: string; owner: number }) => boolean | void): void {
  const free = freeListOf(w);
  // The run being extended is [start, end); end < 0 before the first entry.
  let start = 0;
  let end = -1;
  for (const s of pamtRuns(w.tdx)) {
    if (!keep(s.value)) continue;
    if (end === s.start) {
      end = s.end;
      continue;
    }
    if (end >= 0 && freeAssignedIn(w, free, start, end, visit)) return;
    start = s.start;
    end = s.end;
  }
  if (end >= 0) freeAssignedIn(w, free, start, end, visit);
}

/** Visit the first free frame of one run of assigned frames; true when the visitor asks to stop. */
function freeAssignedIn(w: World, free: FreeList, start: number, end: number, visit: (pfn: number, e: { type: string; owner: number }) => boolean | void): boolean {
  const f = firstFreeIn(free, start, end);
  return f !== undefined && visit(f, pamtEntry(w.tdx, f)!) === true;
}

/** One reference to a run of frames, described only when reported. */
export type RefVisitor = (start: number, count: number, who: () => string) => void;

/**
 * Every reference the model holds to a frame that must keep it allocated:
 * SPTEs of both roots, S-EPT leaves (except those of a bugged TD, which tdx.md
 * §5.4 lets leak), pages of live anonymous mappings, long-term pins and pages
 * truncated while pinned, and the page cache of every guest_memfd (what a
 * guest_memfd mmap maps).
 */
export function forEachRef(w: World, visit: RefVisitor): void {
  for (const vm of w.vms.values()) {
    for (const rootName of ['direct', 'mirror'] as const) {
      const root = vm.mmu[rootName];
      for (const level of [0, 1, 2] as const) {
        for (const [base, spte] of root.leaves[level]) {
          visit(spte.pfn, pagesAt(level), () => `vm${vm.id} ${rootName === 'mirror' ? 'mirror' : spte.private ? 'private' : 'shared'} SPTE at GFN ${hex(base)}`);
        }
      }
    }
  }
  const bugged = buggedTds(w);
  for (const td of w.tdx.tds.values()) {
    if (bugged.has(td.id)) continue;
    for (const level of [0, 1] as const) {
      for (const [gpa, leaf] of td.leaves[level]) visit(leaf.pfn, pagesAt(level), () => `TD ${td.id} S-EPT ${leaf.state} leaf at GPA ${hex(gpa)}`);
    }
  }
  for (const m of w.mappings.values()) {
    if (m.unmapped || m.kind !== 'anon') continue;
    for (const [page, pfn] of m.anon) visit(pfn, 1, () => `anonymous mapping ${m.id} page ${hex(page)}`);
  }
  for (const pfn of w.pins.keys()) visit(pfn, 1, () => 'a long-term pin');
  for (const pfn of w.orphans) visit(pfn, 1, () => 'a pinned page truncated from guest_memfd');
  const inodes = new Set<object>();
  for (const g of w.gmems.values()) {
    if (inodes.has(g.inode)) continue;
    inodes.add(g.inode);
    for (const s of g.inode.pages.segs) visit(s.start + s.value.delta, s.end - s.start, () => `g${g.id} page cache index ${hex(s.start)}..${hex(s.end - 1)}`);
  }
}

/**
 * The first frame the host allocator has handed out that nothing owns: not
 * referenced by anything forEachRef() visits, nor held by KVM for a TD or
 * vCPU, nor assigned in the PAMT (a TD control page, an S-EPT page, or a
 * guest page a bugged TD leaks, which tdx.md §1.4 and §5.3 leave allocated
 * on purpose). Such a frame can never
 * be freed again: a leak. Costs the number of owners and free spans, never
 * the number of frames.
 */
export function firstLeakedFrame(w: World, firstPfn: number): number | undefined {
  const owned: Span[] = [];
  forEachRef(w, (start, count) => own(owned, start, count));
  for (const td of w.tdx.tds.values()) {
    for (const level of [0, 1] as const) for (const leaf of td.leaves[level].values()) own(owned, leaf.pfn, pagesAt(level));
  }
  for (const s of pamtRuns(w.tdx)) own(owned, s.start, s.end - s.start);
  // Pages KVM allocated for a TD or vCPU and holds until teardown, whether or
  // not the module took them (a VP.CREATE that failed leaves its TDVPR page
  // with the vCPU, freed when the vCPU is).
  for (const vm of w.vms.values()) {
    if (!vm.tdx) continue;
    for (const pfn of vm.tdx.controlPfns) own(owned, pfn, 1);
    for (const pfn of vm.tdx.septPfns.values()) own(owned, pfn, 1);
  }
  for (const v of w.vcpus.values()) for (const pfn of v.tdxPfns) own(owned, pfn, 1);
  owned.sort((a, b) => a.start - b.start);
  // Walk the allocated frames (below the bump pointer, outside the free
  // spans) against the owned spans, both in order: `reach` is the end of
  // the owned frames met so far, `o` the next owned span.
  let o = 0;
  let reach = firstPfn;
  let cursor = firstPfn;
  const free = w.pfns.free.segs;
  for (let i = 0; i <= free.length && cursor < w.pfns.bump; i++) {
    const end = Math.min(i < free.length ? free[i].start : w.pfns.bump, w.pfns.bump);
    while (cursor < end) {
      while (o < owned.length && owned[o].start <= cursor) reach = Math.max(reach, owned[o++].end);
      if (reach <= cursor) return cursor;
      cursor = reach;
    }
    if (i < free.length) cursor = Math.max(cursor, free[i].end);
  }
  return undefined;
}

/**
 * Add an owner to the list. Owners come in runs (the 512 PAMT entries of a
 * 2 MiB page, each naming the whole page; consecutive leaves of one mapping):
 * a span that starts inside or right after the last one extends it, so the
 * sort that follows costs the number of runs, not of frames.
 */
function own(owned: Span[], start: number, count: number): void {
  const last = owned[owned.length - 1];
  if (last !== undefined && last.start <= start && start <= last.end) last.end = Math.max(last.end, start + count);
  else owned.push({ start, end: start + count });
}
