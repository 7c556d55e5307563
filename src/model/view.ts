// The read-only view of the model that invariants and the oracle use. It
// exposes state (objects, leaves, pages, S-EPT entries, PAMT, MRTD records,
// frame contents) and nothing that decides: no slot lookup, no index
// arithmetic, no privacy. Those answers are computed again by whoever needs
// them, so a bug in the model's own logic cannot hide from its checks.

import type { Gmem } from './gmem/file.js';
import type { PfnSpace } from './host/pfnspace.js';
import type { Segment } from './intervals.js';
import type { MmuRoot, Spte } from './mmu/spte.js';
import type { PhysMem } from './phys.js';
import type { MrtdRecord, PamtEntry, SeptLeaf, TdxModule } from './tdx/state.js';
import { asGfn, asGpa, asPfn, bytesAt, levelBase, LEVELS, pagesAt } from './units.js';

export type { World, StepCtx, StepTrace, Touched } from './world.js';
export type { ExecCall } from './exec.js';
export type { Ret } from './result.js';
export type { Vm, TdState } from './kvm/vm.js';
export type { Memslot } from './kvm/memslot.js';
export type { Gmem } from './gmem/file.js';
export type { MmuRoot, RootName, Spte } from './mmu/spte.js';
export type { MrtdRecord, PamtEntry, SeptLeaf } from './tdx/state.js';
export { isLeaf, type RecordOf, type SeamcallName, type SeamcallRecord } from './tdx/seamcall.js';
export type { Errno } from './errno.js';
/** The first frame the host allocator ever hands out: frames below it are never allocated. */
export { FIRST_PFN } from './host/pfnspace.js';
// Units are definitions, not answers: a level's size is the same for every reader.
export { asGfn, asPfn, bytesAt, LEVEL_1G, LEVEL_2M, LEVEL_4K, levelBase, levelOf, LEVELS, PAGE_SIZE, pagesAt } from './units.js';

/** The segment of a stored range map (sorted, disjoint) that holds `x`, by binary search. */
function storedSegmentAt<V>(segs: readonly Segment<V>[], x: number): Segment<V> | undefined {
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (segs[mid].end <= x) lo = mid + 1;
    else hi = mid;
  }
  const s = segs[lo];
  return s && s.start <= x ? s : undefined;
}

/** The segments of a stored range map that meet [start, end), clipped. */
export function segmentsMeeting<V>(segs: readonly Segment<V>[], start: number, end: number): Segment<V>[] {
  const out: Segment<V>[] = [];
  for (const s of segs) if (s.start < end && start < s.end) out.push({ start: Math.max(s.start, start), end: Math.min(s.end, end), value: s.value });
  return out;
}

/** The leaf of a root that maps `gfn`, whatever its level. */
export function rootLeafAt(root: MmuRoot, gfn: number): { base: number; spte: Spte } | undefined {
  for (const level of LEVELS) {
    const base = levelBase(gfn, level);
    const spte = root.leaves[level].get(asGfn(base));
    if (spte) return { base, spte };
  }
  return undefined;
}

/** Every leaf of a root that overlaps [start, end), walking whichever is smaller: the range or the table. */
export function rootLeavesIn(root: MmuRoot, start: number, end: number): Array<{ base: number; spte: Spte }> {
  const out: Array<{ base: number; spte: Spte }> = [];
  for (const level of LEVELS) {
    const n = pagesAt(level);
    const map = root.leaves[level];
    if (map.size === 0) continue;
    const first = start - (start % n);
    if (Math.ceil((end - first) / n) <= map.size) {
      for (let base = first; base < end; base += n) {
        const spte = map.get(asGfn(base));
        if (spte) out.push({ base, spte });
      }
    } else for (const [base, spte] of map) if (base < end && start < base + n) out.push({ base, spte });
  }
  return out.sort((a, b) => a.base - b.base);
}

/** Every leaf of a root. */
export function rootLeaves(root: MmuRoot): Array<{ base: number; spte: Spte }> {
  const out: Array<{ base: number; spte: Spte }> = [];
  for (const level of LEVELS) for (const [base, spte] of root.leaves[level]) out.push({ base, spte });
  return out;
}


/** The page a guest_memfd caches at `index`: its frame and whether it was zeroed. */
export function gmemPageAt(g: Gmem, index: number): { pfn: number; uptodate: boolean } | undefined {
  const s = storedSegmentAt(g.inode.pages.segs, index);
  return s ? { pfn: index + s.value.delta, uptodate: s.value.uptodate } : undefined;
}

/** Which guest_memfd page, of any file, a frame currently backs. */
export function gmemPageOfFrame(gmems: Iterable<Gmem>, pfn: number): { gmemId: number; index: number } | undefined {
  for (const g of gmems) {
    for (const s of g.inode.pages.segs) {
      const index = pfn - s.value.delta;
      if (index >= s.start && index < s.end) return { gmemId: g.id, index };
    }
  }
  return undefined;
}

/** The S-EPT leaf of a TD covering a GPA (4K or 2M). */
export function septLeafAt(m: TdxModule, td: number, gpa: number): SeptLeaf | undefined {
  const t = m.tds.get(td);
  if (!t) return undefined;
  return t.leaves[0].get(asGpa(levelBase(gpa, 0, true))) ?? t.leaves[1].get(asGpa(levelBase(gpa, 1, true)));
}

/** S-EPT leaves of a TD overlapping [start, end) in bytes. */
export function septLeavesIn(m: TdxModule, td: number, start: number, end: number): SeptLeaf[] {
  const t = m.tds.get(td);
  const out: SeptLeaf[] = [];
  if (!t) return out;
  for (const level of [0, 1] as const) {
    const size = bytesAt(level);
    const map = t.leaves[level];
    if (map.size === 0) continue;
    const first = start - (start % size);
    if (Math.ceil((end - first) / size) <= map.size) {
      for (let gpa = first; gpa < end; gpa += size) {
        const l = map.get(asGpa(gpa));
        if (l) out.push(l);
      }
    } else for (const l of map.values()) if (l.gpa < end && start < l.gpa + size) out.push(l);
  }
  return out;
}

/** The PAMT entry of a frame (undefined: free), found in the runs of equal entries the module stores. */
export const pamtEntry = (m: TdxModule, pfn: number): PamtEntry | undefined => storedSegmentAt(m.pamt.segs, pfn)?.value;

/** The PAMT as runs of consecutive frames with equal entries, in frame order. */
export const pamtRuns = (m: TdxModule): readonly Segment<PamtEntry>[] => m.pamt.segs;

/** A TD's measurement as the module holds it. */
export function mrtdOf(m: TdxModule, td: number): { records: readonly MrtdRecord[]; finalized: string | null } {
  const t = m.tds.get(td);
  return { records: t?.mrtd.records ?? [], finalized: t?.mrtd.finalized ?? null };
}

/** The fill byte a frame holds. */
export const frameByte = (phys: PhysMem, pfn: number): number => phys.bytes.get(asPfn(pfn)) ?? 0;

/** Whether the host allocator holds a frame as free. */
export function frameFree(s: PfnSpace, pfn: number): boolean {
  return pfn >= s.bump || storedSegmentAt(s.free.segs, pfn) !== undefined;
}

/** The frames of [start, end) that hold a non-zero byte, walking whichever is smaller: the range or the written frames. */
export function writtenFrames(phys: PhysMem, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (end - start <= phys.bytes.size) {
    for (let p = start; p < end; p++) {
      const b = phys.bytes.get(asPfn(p));
      if (b) out.push([p, b]);
    }
  } else for (const [p, b] of phys.bytes) if (p >= start && p < end && b) out.push([p, b]);
  return out;
}
