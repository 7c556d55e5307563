// The host's physical frame allocator. It hands out physically contiguous,
// naturally aligned runs, reuses freed frames first (lowest first, so a test
// sees stale contents if anything forgets to zero), and never allocates per
// page of guest size: a run of a million frames is one bump of a pointer.

import { clearRange, newIntervalMap, segmentsIn, setRange, type IntervalMap } from '../intervals.js';
import { asPfn, pfnAdd, type Order, type Pfn } from '../units.js';

export interface PfnSpace {
  /** Frames returned by free() and not yet handed out again. */
  free: IntervalMap<true>;
  /** First frame never handed out. */
  bump: Pfn;
  /** Frames currently handed out, for accounting and invariants. */
  allocated: number;
}

/** Host frames start at 4 GiB so that a PFN never looks like a small integer. */
export const FIRST_PFN = asPfn(0x100000);

export function newPfnSpace(): PfnSpace {
  return { free: newIntervalMap(), bump: FIRST_PFN, allocated: 0 };
}

/** One extent of an allocation: `count` frames from `pfn`, aligned to the order asked for. */
export interface Extent {
  pfn: Pfn;
  count: number;
}

/**
 * Allocate `count` frames as runs aligned to 2^order (count is a multiple of
 * 2^order). Freed frames are reused first; the rest comes from the bump
 * pointer as one contiguous extent.
 */
export function allocFrames(s: PfnSpace, count: number, order: Order): Extent[] {
  const unit = 2 ** order;
  const out: Extent[] = [];
  let need = count;
  for (const seg of segmentsIn(s.free, 0, s.bump)) {
    if (need === 0) break;
    const start = Math.ceil(seg.start / unit) * unit;
    const usable = Math.floor((seg.end - start) / unit) * unit;
    if (usable <= 0) continue;
    const take = Math.min(usable, need);
    out.push({ pfn: asPfn(start), count: take });
    need -= take;
  }
  for (const e of out) clearRange(s.free, e.pfn, e.pfn + e.count);
  if (need > 0) {
    const start = asPfn(Math.ceil(s.bump / unit) * unit);
    if (start > s.bump) setRange(s.free, s.bump, start, true);
    out.push({ pfn: start, count: need });
    s.bump = pfnAdd(start, need);
  }
  s.allocated += count;
  return out;
}

/** Allocate one naturally aligned block of 2^order frames (a folio or a control page). */
export function allocBlock(s: PfnSpace, order: Order): Pfn {
  const e = allocFrames(s, 2 ** order, order);
  return e[0].pfn;
}

export function freeFrames(s: PfnSpace, pfn: Pfn, count: number): void {
  if (count <= 0) return;
  setRange(s.free, pfn, pfn + count, true);
  s.allocated -= count;
}

export function isFree(s: PfnSpace, pfn: Pfn): boolean {
  if (pfn >= s.bump) return true;
  return segmentsIn(s.free, pfn, pfn + 1).length > 0;
}
