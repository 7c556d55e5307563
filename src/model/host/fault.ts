// The anonymous-memory fault: the first touch of a page of an anonymous
// mapping allocates a frame and zeroes it. Models do_anonymous_page().

import { writeFrame, type PhysMem } from '../phys.js';
import type { Pfn } from '../units.js';
import type { Mapping } from './mapping.js';
import { allocBlock, type PfnSpace } from './pfnspace.js';

/** The frame a user fault reached, or a refusal (SIGBUS for an access, EFAULT for GUP). */
export type HostPage = { ok: true; pfn: Pfn } | { ok: false };

/** Fault in page `page` of an anonymous mapping; a page touched before keeps its frame. */
export function anonFault(pfns: PfnSpace, phys: PhysMem, m: Mapping, page: number): HostPage {
  let pfn = m.anon.get(page);
  if (pfn === undefined) {
    pfn = allocBlock(pfns, 0);
    writeFrame(phys, pfn, 0);
    m.anon.set(page, pfn);
  }
  return { ok: true, pfn };
}
