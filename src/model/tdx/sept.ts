// S-EPT lookups: the leaf that maps a GPA at any level, the tables a walk
// needs, and iteration over leaves. Pure queries; the mutating SEAMCALLs are
// in mem.ts.

import { bytesAt, gpaAdd, gpaToGfn, levelBase, tableKey, type Gpa, type Level } from '../units.js';
import type { SeptLeaf, Td } from './state.js';

/** The leaves of a TD at `level`: 4K or 2M; the module maps nothing at 1G here, so none. */
export function leavesAt(td: Td, level: Level): Map<Gpa, SeptLeaf> | undefined {
  return level === 2 ? undefined : td.leaves[level];
}

/** The leaf covering `gpa`, at 4K or 2M. */
export function leafCovering(td: Td, gpa: Gpa): SeptLeaf | undefined {
  const l0 = td.leaves[0].get(levelBase(gpa, 0, true));
  if (l0) return l0;
  return td.leaves[1].get(levelBase(gpa, 1, true));
}

/** Whether every table a walk to `level` at `gpa` needs exists (the root is in the TDCS). */
export function walkReaches(td: Td, gpa: Gpa, level: Level): boolean {
  for (let l = td.topLevel; l > level; l--) if (!td.tables.has(tableKey(l, gpaToGfn(gpa)))) return false;
  return true;
}

/** Whether the entry at `level` for `gpa` is FREE: no leaf there or above, no table in its place. */
export function entryFree(td: Td, gpa: Gpa, level: Level): boolean {
  if (td.leaves[1].has(levelBase(gpa, 1, true))) return false;
  if (level === 0) return !td.leaves[0].has(gpa);
  return !td.tables.has(tableKey(1, gpaToGfn(gpa)));
}

export function* leavesOf(td: Td): Generator<SeptLeaf> {
  yield* td.leaves[0].values();
  yield* td.leaves[1].values();
}

/** Leaves overlapping [start, end) in bytes; walks the range or the table, whichever is smaller. */
export function leavesIn(td: Td, start: Gpa, end: Gpa): SeptLeaf[] {
  const out: SeptLeaf[] = [];
  for (const level of [0, 1] as const) {
    const size = bytesAt(level);
    const map = td.leaves[level];
    if (map.size === 0) continue;
    const first = levelBase(start, level, true);
    if (Math.ceil((end - first) / size) <= map.size) {
      for (let gpa = first; gpa < end; gpa = gpaAdd(gpa, size)) {
        const l = map.get(gpa);
        if (l) out.push(l);
      }
    } else {
      for (const l of map.values()) if (l.gpa < end && start < l.gpa + size) out.push(l);
    }
  }
  return out;
}
