// KVM's TDP MMU state for one VM: leaf SPTEs per level and, for the mirror
// root, which page tables exist. The direct root holds shared (and, for
// non-TDX VMs, private) mappings; the mirror root shadows the TD's S-EPT.

import { asGfn, gfnAdd, levelBase, pagesAt, type Gfn, type Level, type Pfn } from '../units.js';

/** The name of a registered table of external SPTE hooks (mmu/ops.ts). */
export type ExternalOpsName = string;

export interface Spte {
  pfn: Pfn;
  level: Level;
  private: boolean;
  /** G1 only: installed by INIT_MEM_REGION before its PAGE.ADD succeeded (nr_premapped). */
  premapped?: boolean;
}

export type RootName = 'direct' | 'mirror';

export interface MmuRoot {
  /** leaves[level]: base GFN of the leaf -> SPTE. */
  leaves: [Map<Gfn, Spte>, Map<Gfn, Spte>, Map<Gfn, Spte>];
  /** Page tables present below the root, by tableKey(level, gfn) of units.ts. */
  tables: Set<string>;
}

export interface Mmu {
  direct: MmuRoot;
  mirror: MmuRoot;
}

export function newRoot(): MmuRoot {
  return { leaves: [new Map(), new Map(), new Map()], tables: new Set() };
}

export function newMmu(): Mmu {
  return { direct: newRoot(), mirror: newRoot() };
}


/** The leaf mapping `gfn`, at whatever level it was installed. */
export function leafFor(root: MmuRoot, gfn: Gfn): { base: Gfn; spte: Spte } | undefined {
  for (const level of [0, 1, 2] as Level[]) {
    const base = levelBase(gfn, level);
    const spte = root.leaves[level].get(base);
    if (spte) return { base, spte };
  }
  return undefined;
}

/**
 * Every leaf that overlaps [start, end), with its base GFN. Walks the range
 * when it is shorter than the leaf table and the table otherwise, so the cost
 * is bounded by both what the guest mapped and the size of the range.
 */
export function leavesIn(root: MmuRoot, start: Gfn, end: Gfn): Array<{ base: Gfn; spte: Spte }> {
  const out: Array<{ base: Gfn; spte: Spte }> = [];
  for (const level of [0, 1, 2] as Level[]) {
    const n = pagesAt(level);
    const map = root.leaves[level];
    if (map.size === 0) continue;
    const first = start - (start % n);
    const units = Math.ceil((end - first) / n);
    if (units <= map.size) {
      for (let base = asGfn(first); base < end; base = gfnAdd(base, n)) {
        const spte = map.get(base);
        if (spte) out.push({ base, spte });
      }
    } else {
      for (const [base, spte] of map) if (base < end && start < base + n) out.push({ base, spte });
    }
  }
  return out.sort((a, b) => a.base - b.base);
}

export function leafCount(root: MmuRoot): number {
  return root.leaves[0].size + root.leaves[1].size + root.leaves[2].size;
}
