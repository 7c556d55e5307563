// The folio-taking SEAMCALL wrappers of the TDX hugepage series v3 (tdx.md
// §6.2), kept only for the hugepage-folio profile and the folio-wrappers bug.
// They take (folio, start index, count) and refuse, with TDX_OPERAND_INVALID
// and no SEAMCALL, any range that runs past the folio. They live outside tdx/
// on purpose: they need folios, which the PFN-only module never sees.

import { folioOfPfn } from '../gmem/reverse.js';
import * as sc from '../tdx/seamcall.js';
import type { TdxStatus } from '../tdx/status.js';
import { pagesAt, type Gpa, type Level, type Pfn } from '../units.js';
import type { World } from '../world.js';

/** Whether [pfn, pfn + count) lies inside the folio pfn_folio(pfn) returns. */
function insideOneFolio(w: World, pfn: Pfn, count: number): boolean {
  const f = folioOfPfn(w, pfn);
  if (!f) return count === 1;
  return pfn + count <= f.pfn + f.nrPages;
}

function refuse(w: World, rec: sc.Refusal): { status: TdxStatus } {
  return sc.logRefusal(w.step.seamcall, rec, 'the range runs past one folio');
}

export function folioAug(w: World, td: number, gpa: Gpa, level: Level, pfn: Pfn): { status: TdxStatus } {
  if (!insideOneFolio(w, pfn, pagesAt(level))) return refuse(w, { name: 'TDH.MEM.PAGE.AUG', td, args: { gpa, level, pfn } });
  return sc.tdhMemPageAug(w.tdx, w.step.seamcall, td, gpa, level, pfn);
}

export function folioWbinvd(w: World, hkid: number, pfn: Pfn, level: Level): { status: TdxStatus } {
  if (!insideOneFolio(w, pfn, pagesAt(level))) return refuse(w, { name: 'TDH.PHYMEM.PAGE.WBINVD', td: null, args: { hkid, pfn, level } });
  return sc.tdhPhymemPageWbinvd(w.tdx, w.step.seamcall, hkid, pfn, level);
}

export function folioReclaim(w: World, pfn: Pfn): { status: TdxStatus } {
  if (!insideOneFolio(w, pfn, 1)) return refuse(w, { name: 'TDH.PHYMEM.PAGE.RECLAIM', td: null, args: { pfn } });
  return sc.tdhPhymemPageReclaim(w.tdx, w.step.seamcall, pfn);
}
