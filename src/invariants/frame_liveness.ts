// frame-liveness: nothing the model still refers to lives in a frame the host
// allocator considers free, and a frame the PAMT still assigns to a TD is
// never given back to the host (tdx.md §1.4, §5.3-5.4, §7 item 15).
//
// Incrementally, a step is judged by what it freed (the allocator's free list
// before and after, compared span by span) and by the frames its own record
// names (touched frames, host accesses, SEAMCALL arguments) that are free
// now; only then are all references enumerated. A full sweep checks every
// reference and every PAMT entry against the free list, and the converse:
// every frame the allocator has handed out is owned by something, so none
// leaks.

import type { Pfn } from '../model/units.js';
import { asPfn, pagesAt, pamtRuns, segmentsMeeting } from '../model/view.js';
import type { World } from '../model/world.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { FIRST_PFN } from '../model/view.js';
import { reporter } from './reporter.js';
import { buggedTds, firstFreeIn, firstLeakedFrame, forEachFreeAssigned, forEachRef, freeListOf, hex, newlyFreed, type FreeList, type Span } from './frames.js';

/** Frames named by the step's own record that the allocator holds as free now. */
function freeFramesOfStep(c: CheckCtx, free: FreeList): Span[] {
  const out: Span[] = [];
  for (const pfn of c.step.touched.pfns) addIfFree(out, free, pfn, 1);
  for (const a of c.step.hostAccesses) addIfFree(out, free, a.pfn, 1);
  for (const r of c.step.seamcall.log) {
    if (r.status !== 'TDX_SUCCESS') continue;
    if (r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MEM.PAGE.AUG') addIfFree(out, free, r.args.pfn, 'level' in r.args ? pagesAt(r.args.level) : 1);
  }
  return out;
}

function addIfFree(out: Span[], free: FreeList, pfn: Pfn | undefined, count: number): void {
  if (pfn !== undefined && firstFreeIn(free, pfn, pfn + count) !== undefined) out.push({ start: pfn, end: pfn + count });
}

function overlapping(spans: readonly Span[], start: number, end: number): Span | undefined {
  for (const s of spans) if (s.start < end && start < s.end) return s;
  return undefined;
}

/**
 * Whether a PAMT entry must keep its frame from the host. After TDX_BUG_ON
 * guest_memfd may free a guest page the S-EPT still holds (tdx.md §5.4, the
 * window KVM accepts); a control or S-EPT page is leaked, never freed, by a
 * bugged TD as by any other (tdx.md §1.4, §5.3).
 */
const guarded = (bugged: Set<number>, e: { type: string; owner: number }) => e.type !== 'PT_REG' || !bugged.has(e.owner);

/** PAMT entries inside `spans` that must keep their frame: the first frame of each run of equal entries inside a span. */
function assignedIn(w: World, spans: readonly Span[], visit: (pfn: Pfn, type: string, owner: number) => void): void {
  const bugged = buggedTds(w);
  for (const s of spans) {
    for (const r of segmentsMeeting(pamtRuns(w.tdx), s.start, s.end)) if (guarded(bugged, r.value)) visit(asPfn(r.start), r.value.type, r.value.owner);
  }
}

/**
 * A TDR the module refused to give back because pages of its TD are still
 * assigned (TDX_TD_ASSOCIATED_PAGES_EXIST), when no RECLAIM of that TD failed
 * before it in the same teardown: KVM never asked for one of the TD's pages,
 * which is then lost to the host for good, the TDR with it. A RECLAIM that
 * fails leaks its page on purpose (tdx_reclaim_control_page()), and then the
 * TDR's refusal is expected.
 */
function forgottenPage(c: CheckCtx): string | undefined {
  const log = c.step.seamcall.log;
  for (let i = 0; i < log.length; i++) {
    const r = log[i];
    if (r.name !== 'TDH.PHYMEM.PAGE.RECLAIM' || !('pamtBefore' in r) || r.pamtBefore !== 'TDR' || r.status !== 'TDX_TD_ASSOCIATED_PAGES_EXIST') continue;
    const failedBefore = log.slice(0, i).some((x) => x.name === 'TDH.PHYMEM.PAGE.RECLAIM' && x.td === r.td && x.status !== 'TDX_SUCCESS');
    if (failedBefore) continue;
    let left = '';
    for (const s of pamtRuns(c.world.tdx)) {
      // The run's first frame that is not the TDR itself.
      const pfn = s.start === r.args.pfn ? s.start + 1 : s.start;
      if (s.value.owner === r.td && pfn < s.end) {
        left = `: PFN ${hex(pfn)} (${s.value.type}) is still assigned to it and was never reclaimed`;
        break;
      }
    }
    return `the RECLAIM of TD ${r.td}'s TDR PFN ${hex(r.args.pfn)} was refused (TDX_TD_ASSOCIATED_PAGES_EXIST) with no failed RECLAIM before it${left}`;
  }
  return undefined;
}

export const frameLiveness: Invariant = {
  id: 'frame-liveness',
  summary: 'No SPTE, host mapping, pin or S-EPT leaf refers to a frame the host allocator holds as free, and no frame the PAMT assigns to a TD is handed back to the host.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const w = c.world;
    const free = freeListOf(w);
    // At most eight messages: one broken path can leave thousands of frames behind.
    const say = reporter(out, this.id, `${c.call.op}: `, 8);
    if (c.full) {
      forEachRef(w, (start, count, who) => {
        const f = firstFreeIn(free, start, start + count);
        if (f !== undefined) say(`${who()} refers to PFN ${hex(f)}, which the host allocator holds as free`);
      });
      const bugged = buggedTds(w);
      forEachFreeAssigned(w, (e) => guarded(bugged, e), (pfn, e) => say(`PFN ${hex(pfn)} is free in the host allocator while the PAMT assigns it to TD ${e.owner} as ${e.type}`));
      const leaked = firstLeakedFrame(w, FIRST_PFN);
      if (leaked !== undefined) say(`PFN ${hex(leaked)} is allocated but nothing owns it: no mapping, page cache, pin or PAMT entry, so it can never be freed`);
      return out;
    }
    const forgotten = forgottenPage(c);
    if (forgotten) say(forgotten);
    const freed = newlyFreed(c.before.free, free);
    const suspects = [...freed, ...freeFramesOfStep(c, free)];
    if (suspects.length === 0) return out;
    assignedIn(w, freed, (pfn, type, owner) => say(`PFN ${hex(pfn)} was handed back to the host allocator while the PAMT assigns it to TD ${owner} as ${type}`));
    forEachRef(w, (start, count, who) => {
      const s = overlapping(suspects, start, start + count);
      if (!s) return;
      const f = firstFreeIn(free, Math.max(start, s.start), Math.min(start + count, s.end));
      if (f !== undefined) say(`${who()} refers to PFN ${hex(f)}, which ${overlapping(freed, f, f + 1) ? 'this step freed' : 'the host allocator holds as free'}`);
    });
    return out;
  },
};
