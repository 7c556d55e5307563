// PFN -> folio, the way pfn_folio() answers it: which guest_memfd folio holds
// a frame, if any. Used only by the folio-taking SEAMCALL wrappers of the
// hugepage-folio design, which is exactly the dependency the PFN-only design
// removed.

import type { World } from '../world.js';
import type { Pfn } from '../units.js';
import { alignDown, asPfn } from '../units.js';

export interface FolioSpan {
  /** First frame of the folio. */
  pfn: Pfn;
  nrPages: number;
}

export function folioOfPfn(w: World, pfn: Pfn): FolioSpan | null {
  for (const g of w.gmems.values()) {
    for (const s of g.inode.pages.segs) {
      const index = pfn - s.value.delta;
      if (index < s.start || index >= s.end) continue;
      const n = 2 ** s.value.order;
      return { pfn: asPfn(alignDown(index, n) + s.value.delta), nrPages: n };
    }
  }
  return null;
}
