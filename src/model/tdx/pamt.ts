// The PAMT: which TD owns each physical frame, and as what. ADD and AUG need
// a free target; reclaim and remove give frames back.

import type { Level, Pfn } from '../units.js';
import { pagesAt, pfnAdd } from '../units.js';
import type { PamtType, TdxModule } from './state.js';

export function pamtFree(m: TdxModule, pfn: Pfn, count = 1): boolean {
  for (let i = 0; i < count; i++) if (m.pamt.has(pfnAdd(pfn, i))) return false;
  return true;
}

export function pamtAssign(m: TdxModule, pfn: Pfn, level: Level, type: PamtType, owner: number): void {
  const n = pagesAt(level);
  for (let i = 0; i < n; i++) m.pamt.set(pfnAdd(pfn, i), { type, owner, level });
}

export function pamtRelease(m: TdxModule, pfn: Pfn, level: Level): void {
  const n = pagesAt(level);
  for (let i = 0; i < n; i++) m.pamt.delete(pfnAdd(pfn, i));
}
