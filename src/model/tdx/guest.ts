// The guest's side of the S-EPT: what a load or store finds when the
// hardware walks it, and TDG.MEM.PAGE.ACCEPT (a TDCALL, not a SEAMCALL).

import { writeFrame, type PhysMem } from '../phys.js';
import { gpaToGfn, pagesAt, pfnAdd, tableKey, type Gpa, type Level, type Pfn } from '../units.js';
import { leafCovering } from './sept.js';
import type { Td } from './state.js';
import type { TdxStatus } from './status.js';

export type WalkState = 'MAPPED' | 'PENDING' | 'BLOCKED' | 'NOT_PRESENT';

export function walk(td: Td, gpa: Gpa): { state: WalkState; pfn?: Pfn } {
  const leaf = leafCovering(td, gpa);
  if (!leaf) return { state: 'NOT_PRESENT' };
  if (leaf.state === 'MAPPED') return { state: 'MAPPED', pfn: pfnAdd(leaf.pfn, Math.floor((gpa - leaf.gpa) / 4096)) };
  if (leaf.state === 'PENDING') return { state: 'PENDING' };
  return { state: 'BLOCKED' };
}

export type AcceptResult = { kind: 'status'; status: TdxStatus } | { kind: 'ept-violation' };

/**
 * Accept at `level`: a PENDING leaf of that size becomes MAPPED, and every
 * frame of it is initialised to zero with the TD's key before the guest can
 * see it (tdx.md §3.1), whatever it held before (a page kept by guest_memfd
 * across a private -> shared -> private conversion, or host data). A 4K accept
 * inside a 2M leaf, or a 2M accept over a 4K table, is a size mismatch; a
 * missing or blocked entry is an EPT violation for the VMM to resolve.
 */
export function accept(phys: PhysMem, td: Td, gpa: Gpa, level: Level): AcceptResult {
  if (level === 1 && td.tables.has(tableKey(1, gpaToGfn(gpa)))) return { kind: 'status', status: 'TDX_PAGE_SIZE_MISMATCH' };
  const leaf = leafCovering(td, gpa);
  if (!leaf || leaf.state === 'BLOCKED' || leaf.state === 'PENDING_BLOCKED') return { kind: 'ept-violation' };
  if (leaf.state === 'MAPPED') return { kind: 'status', status: 'TDX_PAGE_ALREADY_ACCEPTED' };
  if (leaf.level !== level) return { kind: 'status', status: 'TDX_PAGE_SIZE_MISMATCH' };
  for (let i = 0; i < pagesAt(level); i++) writeFrame(phys, pfnAdd(leaf.pfn, i), 0);
  leaf.state = 'MAPPED';
  return { kind: 'status', status: 'TDX_SUCCESS' };
}
