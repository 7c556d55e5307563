// The PAMT: which TD owns each physical frame, and as what. ADD and AUG need
// a free target; reclaim and remove give frames back.
//
// The module keeps one PAMT entry per 4 KiB frame (a 2 MiB page's 512 entries
// each name the page size). They are held here as runs of frames with equal
// entries, so a 2 MiB AUG costs one run and not 512 map entries: a state
// image or a sweep of a guest faulted in at 2 MiB then costs its pages, not
// its frames. What a frame holds is the same either way.

import { clearRange, firstEndingAfter, getAt, setRange } from '../intervals.js';
import type { Level, Pfn } from '../units.js';
import { pagesAt } from '../units.js';
import type { PamtEntry, PamtType, TdxModule } from './state.js';

/** Neighbouring runs merge only when every frame would read the same entry. */
const sameEntry = (a: PamtEntry, b: PamtEntry) => a.type === b.type && a.owner === b.owner && a.level === b.level;

/** The entry of one frame (PT_NDA, free, is undefined). */
export function pamtGet(m: TdxModule, pfn: Pfn): PamtEntry | undefined {
  return getAt(m.pamt, pfn);
}

/** Whether no frame of [pfn, pfn + count) is assigned. */
export function pamtFree(m: TdxModule, pfn: Pfn, count = 1): boolean {
  // The first run ending after pfn decides: free iff it starts at or past the range's end.
  const s = m.pamt.segs[firstEndingAfter(m.pamt, pfn)];
  return s === undefined || s.start >= pfn + count;
}

export function pamtAssign(m: TdxModule, pfn: Pfn, level: Level, type: PamtType, owner: number): void {
  setRange(m.pamt, pfn, pfn + pagesAt(level), { type, owner, level }, sameEntry);
}

export function pamtRelease(m: TdxModule, pfn: Pfn, level: Level): void {
  clearRange(m.pamt, pfn, pfn + pagesAt(level));
}

/** Whether the PAMT assigns any frame but `except` to the TD `owner` (the TDR's child count). */
export function pamtOwnsOther(m: TdxModule, owner: number, except: Pfn): boolean {
  for (const s of m.pamt.segs) if (s.value.owner === owner && (s.start !== except || s.end !== except + 1)) return true;
  return false;
}
