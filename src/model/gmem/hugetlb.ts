// HugeTLB-backed guest_memfd ([1G-rfc], the in-place conversion series): a
// huge folio is split to 4 KiB as soon as any of its pages becomes shared
// (the host maps shared pages at 4 KiB only) and merged back once the whole
// folio is private again. A punch hole that covers part of a huge folio
// splits it first so the rest stays allocated.

import { everyIn } from '../intervals.js';
import { alignDown, asPfn, type Pfn } from '../units.js';
import type { World } from '../world.js';
import type { Gmem } from './file.js';
import { runsIn, setRun, splitFolios } from './inode.js';

export function convertFolios(w: World, g: Gmem, start: number, end: number, how: 'split' | 'merge'): void {
  const order = g.inode.allocOrder;
  if (order === 0) return;
  if (how === 'split') {
    if (splitFolios(g.inode, start, end)) {
      w.step.events.push(`split folios of g${g.id} over [0x${start.toString(16)}, 0x${end.toString(16)})`);
    }
    return;
  }
  const n = 2 ** order;
  for (let f = alignDown(start, n); f < end; f += n) {
    if (f + n > g.inode.sizePages) break;
    if (!everyIn(g.inode.priv, f, f + n, (v) => v === true)) continue;
    const base = contiguousBlock(g, f, n);
    if (base === null || base % n !== 0) continue;
    // A folio with extra references (a pin) cannot be merged.
    if ([...w.pins.keys()].some((p) => p >= base && p < base + n)) continue;
    for (const r of runsIn(g.inode, f, f + n)) setRun(g.inode, r.start, r.end, { ...r.value, order });
    w.step.events.push(`merge folio of g${g.id} at index 0x${f.toString(16)}`);
  }
}

/** Split the huge folios a partial punch hole cuts through. */
export function splitHugeForPunch(w: World, g: Gmem, start: number, end: number): void {
  const n = 2 ** g.inode.allocOrder;
  if (n === 1) return;
  if (start % n !== 0) convertFolios(w, g, start, start + 1, 'split');
  if (end % n !== 0) convertFolios(w, g, end - 1, end, 'split');
}

/**
 * The first PFN of [index, index + n) if every page of it is cached and the
 * frames are physically contiguous, else null. Folio boundaries do not matter.
 */
export function contiguousBlock(g: Gmem, index: number, n: number): Pfn | null {
  const runs = runsIn(g.inode, index, index + n);
  if (runs.length === 0) return null;
  let cursor = index;
  const delta = runs[0].value.delta;
  for (const r of runs) {
    if (r.start !== cursor || r.value.delta !== delta) return null;
    cursor = r.end;
  }
  return cursor === index + n ? asPfn(index + delta) : null;
}
