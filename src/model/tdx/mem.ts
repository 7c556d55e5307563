// Memory SEAMCALLs (tdx.md §3.1): SEPT.ADD, PAGE.ADD, PAGE.AUG, RANGE.BLOCK,
// TRACK, PAGE.REMOVE, PAGE.DEMOTE, MR.EXTEND and PHYMEM.PAGE.WBINVD. The
// module enforces the architecture itself: on any failure nothing changes.

import { copyFrame, readFrame, type PhysMem } from '../phys.js';
import { bytesAt, gpaAdd, gpaToGfn, LEVEL_2M, levelBase, PAGE_SIZE, pagesAt, pfnAdd, tableKey, type Gpa, type Level, type Pfn, type TableLevel } from '../units.js';
import { pamtAssign, pamtFree, pamtRelease } from './pamt.js';
import { entryFree, leafCovering, leavesAt, walkReaches } from './sept.js';
import type { Td, TdxModule } from './state.js';
import type { TdxStatus } from './status.js';
import { fault } from '../faults.js';

const aligned = (gpa: Gpa, level: Level) => gpa % bytesAt(level) === 0;

export function septAdd(m: TdxModule, td: Td, gpa: Gpa, level: TableLevel, pfn: Pfn): TdxStatus {
  if (level < 1 || level > td.topLevel) return 'TDX_OPERAND_INVALID';
  if (td.hkid === null) return 'TDX_OP_STATE_INCORRECT';
  for (let l = td.topLevel; l > level; l--) if (!td.tables.has(tableKey(l, gpaToGfn(gpa)))) return 'TDX_EPT_WALK_FAILED';
  if (td.tables.has(tableKey(level, gpaToGfn(gpa)))) return 'TDX_EPT_ENTRY_STATE_INCORRECT';
  // A 2 MiB leaf occupies the entry a 4 KiB table would go into.
  if (level === 1 && td.leaves[1].has(levelBase(gpa, 1, true))) return 'TDX_EPT_ENTRY_STATE_INCORRECT';
  if (!pamtFree(m, pfn)) return 'TDX_PAGE_METADATA_INCORRECT';
  td.tables.set(tableKey(level, gpaToGfn(gpa)), pfn);
  pamtAssign(m, pfn, 0, 'PT_EPT', td.id);
  return 'TDX_SUCCESS';
}

export function pageAdd(m: TdxModule, phys: PhysMem, td: Td, gpa: Gpa, pfn: Pfn, src: Pfn): TdxStatus {
  if (td.opState !== 'INITIALIZED') return 'TDX_OP_STATE_INCORRECT';
  if (!aligned(gpa, 0)) return 'TDX_OPERAND_INVALID';
  if (!walkReaches(td, gpa, 0)) return 'TDX_EPT_WALK_FAILED';
  if (!entryFree(td, gpa, 0)) return 'TDX_EPT_ENTRY_STATE_INCORRECT';
  if (!pamtFree(m, pfn)) return 'TDX_PAGE_METADATA_INCORRECT';
  copyFrame(phys, src, pfn);
  td.leaves[0].set(gpa, { gpa, level: 0, state: 'MAPPED', pfn });
  pamtAssign(m, pfn, 0, 'PT_REG', td.id);
  td.childCount += 1;
  td.mrtd.records.push({ op: 'ADD', gpa });
  return 'TDX_SUCCESS';
}

/** AUG needs only alignment, a FREE entry and a free, aligned physical range of the mapping size. */
export function pageAug(m: TdxModule, td: Td, gpa: Gpa, level: Level, pfn: Pfn): TdxStatus {
  if (td.opState !== 'RUNNABLE') return 'TDX_OP_STATE_INCORRECT';
  const leaves = leavesAt(td, level);
  if (!leaves || !aligned(gpa, level)) return 'TDX_OPERAND_INVALID';
  const n = pagesAt(level);
  if (pfn % n !== 0) return 'TDX_OPERAND_INVALID';
  if (!walkReaches(td, gpa, level)) return 'TDX_EPT_WALK_FAILED';
  if (!entryFree(td, gpa, level)) return 'TDX_EPT_ENTRY_STATE_INCORRECT';
  if (!pamtFree(m, pfn, n)) return 'TDX_PAGE_METADATA_INCORRECT';
  leaves.set(gpa, { gpa, level, state: 'PENDING', pfn });
  pamtAssign(m, pfn, level, 'PT_REG', td.id);
  td.childCount += n;
  return 'TDX_SUCCESS';
}

export function rangeBlock(td: Td, gpa: Gpa, level: Level): TdxStatus {
  const leaf = leavesAt(td, level)?.get(gpa);
  if (!leaf) return 'TDX_EPT_ENTRY_STATE_INCORRECT';
  if (leaf.state === 'BLOCKED' || leaf.state === 'PENDING_BLOCKED') return 'TDX_GPA_RANGE_ALREADY_BLOCKED';
  leaf.state = leaf.state === 'MAPPED' ? 'BLOCKED' : 'PENDING_BLOCKED';
  leaf.bepoch = td.epoch;
  return 'TDX_SUCCESS';
}

export function track(td: Td): TdxStatus {
  if (td.opState !== 'RUNNABLE') return 'TDX_OP_STATE_INCORRECT';
  td.epoch += 1;
  return 'TDX_SUCCESS';
}

/** Once finalized, a mapping can only go after BLOCK and a completed TRACK. */
function removable(td: Td, leaf: { state: string; bepoch?: number }): TdxStatus {
  if (td.opState !== 'RUNNABLE') return 'TDX_SUCCESS';
  if (leaf.state !== 'BLOCKED' && leaf.state !== 'PENDING_BLOCKED') return 'TDX_GPA_RANGE_NOT_BLOCKED';
  if ((leaf.bepoch ?? td.epoch) >= td.epoch) return 'TDX_TLB_TRACKING_NOT_DONE';
  return 'TDX_SUCCESS';
}

export function pageRemove(m: TdxModule, td: Td, gpa: Gpa, level: Level): { status: TdxStatus; pfn?: Pfn } {
  const leaves = leavesAt(td, level);
  const leaf = leaves?.get(gpa);
  if (!leaves || !leaf) return { status: 'TDX_EPT_ENTRY_NOT_PRESENT' };
  const s = removable(td, leaf);
  if (s !== 'TDX_SUCCESS') return { status: s };
  leaves.delete(gpa);
  if (!fault(m, 'remove-keeps-pamt')) pamtRelease(m, leaf.pfn, level);
  td.childCount -= pagesAt(level);
  if (fault(m, 'mrtd-rollback-on-remove')) {
    // Seeded bug: forget that the page was ever measured.
    td.mrtd.records = td.mrtd.records.filter((r) => r.gpa < gpa || r.gpa >= gpa + bytesAt(level));
  }
  return { status: 'TDX_SUCCESS', pfn: leaf.pfn };
}

/** Split a blocked 2 MiB leaf into 512 4 KiB leaves on a new S-EPT table. */
export function pageDemote(m: TdxModule, td: Td, gpa: Gpa, level: Level, tablePfn: Pfn): TdxStatus {
  if (level !== 1) return 'TDX_OPERAND_INVALID';
  const leaf = td.leaves[1].get(gpa);
  if (!leaf) return 'TDX_EPT_ENTRY_NOT_PRESENT';
  if (leaf.state !== 'BLOCKED' && leaf.state !== 'PENDING_BLOCKED') return 'TDX_GPA_RANGE_NOT_BLOCKED';
  const s = removable(td, leaf);
  if (s !== 'TDX_SUCCESS') return s;
  if (!pamtFree(m, tablePfn)) return 'TDX_PAGE_METADATA_INCORRECT';
  td.leaves[1].delete(gpa);
  const state = leaf.state === 'BLOCKED' ? 'MAPPED' : 'PENDING';
  for (let i = 0; i < pagesAt(LEVEL_2M); i++) {
    td.leaves[0].set(gpaAdd(gpa, i * PAGE_SIZE), { gpa: gpaAdd(gpa, i * PAGE_SIZE), level: 0, state, pfn: pfnAdd(leaf.pfn, i) });
  }
  td.tables.set(tableKey(1, gpaToGfn(gpa)), tablePfn);
  pamtAssign(m, tablePfn, 0, 'PT_EPT', td.id);
  pamtAssign(m, leaf.pfn, 0, 'PT_REG', td.id);
  for (let i = 1; i < pagesAt(LEVEL_2M); i++) pamtAssign(m, pfnAdd(leaf.pfn, i), 0, 'PT_REG', td.id);
  return 'TDX_SUCCESS';
}

export function mrExtend(phys: PhysMem, td: Td, gpa: Gpa): TdxStatus {
  if (gpa % 256 !== 0) return 'TDX_OPERAND_INVALID';
  if (td.opState !== 'INITIALIZED') return 'TDX_OP_STATE_INCORRECT';
  const leaf = leafCovering(td, gpa);
  if (!leaf || leaf.state !== 'MAPPED') return 'TDX_EPT_ENTRY_NOT_PRESENT';
  const pfn = pfnAdd(leaf.pfn, Math.floor((gpa - leaf.gpa) / 4096));
  td.mrtd.records.push({ op: 'EXTEND', gpa, byte: readFrame(phys, pfn) });
  return 'TDX_SUCCESS';
}

/**
 * TDH.PHYMEM.PAGE.WBINVD of a frame range. Choice: the module accepts any
 * aligned range whose frames are no longer assigned in the PAMT (the page
 * was removed); a frame still owned by a TD is refused.
 */
export function phymemPageWbinvd(m: TdxModule, pfn: Pfn, level: Level): TdxStatus {
  const n = pagesAt(level);
  if (pfn % n !== 0) return 'TDX_OPERAND_INVALID';
  if (!pamtFree(m, pfn, n)) return 'TDX_PAGE_METADATA_INCORRECT';
  return 'TDX_SUCCESS';
}
