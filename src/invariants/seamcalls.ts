// Invariants read off the step's SEAMCALL log (tdx.md §7): no double
// ADD/AUG, the removal order, what the folio-taking wrappers refused.

import { isLeaf, PAGE_SIZE, pagesAt, pamtEntry, type RecordOf, type SeamcallRecord, type World } from '../model/view.js';
import { buggedTds, forEachFreeAssigned } from './frames.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex, tdBugged } from './util.js';

const v = (invariant: string, message: string): Violation => ({ invariant, message });

export const noDoubleAdd: Invariant = {
  id: 'no-double-add',
  summary: 'A GPA is never PAGE.ADDed or PAGE.AUGed while its S-EPT leaf is present, nor a PFN the PAMT says is assigned.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    for (const r of c.step.seamcall.log) {
      // A refused AUG never reached the module: it added nothing.
      if ((r.name !== 'TDH.MEM.PAGE.ADD' && r.name !== 'TDH.MEM.PAGE.AUG') || 'refusedByWrapper' in r) continue;
      if (r.entryBefore !== 'FREE') {
        out.push(v(this.id, `${c.call.op}: ${r.name} of GPA ${hex(r.args.gpa)} (GFN ${hex(r.args.gpa / 4096)}) while its S-EPT leaf is ${r.entryBefore}, PFN ${hex(r.args.pfn)}; expected no SEAMCALL (RET_PF_SPURIOUS)`));
      }
      if (r.pamtBefore !== 'NDA') {
        out.push(v(this.id, `${c.call.op}: ${r.name} of PFN ${hex(r.args.pfn)} whose PAMT entry is ${r.pamtBefore}; expected a free target`));
      }
    }
    return out;
  },
};

export const removalOrder: Invariant = {
  id: 'removal-order',
  summary: 'A private leaf leaves the S-EPT only by BLOCK, TRACK (when RUNNABLE), REMOVE, WBINVD; only then may its PFN be freed.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const log = c.step.seamcall.log;
    log.forEach((r, i) => {
      // Outside RUNNABLE (teardown) the module removes without a BLOCK.
      if (r.name !== 'TDH.MEM.PAGE.REMOVE' || r.opStateBefore !== 'RUNNABLE') return;
      const gpa = r.args.gpa;
      const blockAt = findLast(log, i, (x) => x.name === 'TDH.MEM.RANGE.BLOCK' && x.args.gpa === gpa && x.status === 'TDX_SUCCESS');
      if (blockAt < 0) {
        out.push(v(this.id, `${c.call.op}: TDH.MEM.PAGE.REMOVE of GPA ${hex(gpa)} in a RUNNABLE TD without a prior BLOCK`));
        return;
      }
      if (findLast(log, i, (x) => x.name === 'TDH.MEM.TRACK' && x.status === 'TDX_SUCCESS') < blockAt) {
        out.push(v(this.id, `${c.call.op}: TDH.MEM.PAGE.REMOVE of GPA ${hex(gpa)} in a RUNNABLE TD with no TDH.MEM.TRACK between BLOCK and REMOVE`));
      }
    });
    // KVM reclaims a TD's pages only once its HKID is released
    // (tdx_reclaim_td_control_pages() and tdx_reclaim_page() return early
    // while is_hkid_assigned(), tdx.md §5.4): the module's refusal of a
    // RECLAIM for a TD still keyed (TDX_OP_STATE_INCORRECT) means KVM asked too early.
    for (const r of log) {
      if (r.name === 'TDH.PHYMEM.PAGE.RECLAIM' && r.status === 'TDX_OP_STATE_INCORRECT') out.push(v(this.id, `${c.call.op}: TDH.PHYMEM.PAGE.RECLAIM of PFN ${hex(r.args.pfn)} while its TD still holds its HKID (TDX_OP_STATE_INCORRECT)`));
    }
    const gap = unflushedRemoval(c);
    if (gap) out.push(v(this.id, `${c.call.op}: ${gap}`));
    const early = freedBeforeUse(c);
    if (early) out.push(v(this.id, `${c.call.op}: ${early}`));
    if (c.full) {
      // Without the step's record of freed frames: a frame still assigned to
      // a live TD in the PAMT is never back with the host allocator.
      const bugged = buggedTds(c.world);
      forEachFreeAssigned(c.world, (e) => !bugged.has(e.owner), (pfn, e) => {
        out.push(v(this.id, `${c.call.op}: PFN ${hex(pfn)} is free in the host allocator while the PAMT still assigns it to TD ${e.owner} as ${e.type}`));
        return true;
      });
    }
    return out;
  },
};

/**
 * Every frame a successful PAGE.REMOVE took from a TD is written back with
 * TDH.PHYMEM.PAGE.WBINVD later in the same step, all of it (the frames of a
 * 2 MiB leaf included), before the host may reuse it
 * (tdx_sept_remove_private_spte()). A write-back that fails bugs the VM and
 * leaks the frames instead, so the removals of a bugged VM's TD are left to
 * bugged-vm and frame-liveness.
 */
function unflushedRemoval(c: CheckCtx): string | undefined {
  const log = c.step.seamcall.log;
  // Walked from the end: `flushed` holds, for each frame, that a successful
  // write-back comes later than the record at hand.
  const flushed = new Set<number>();
  let found: string | undefined;
  for (let i = log.length - 1; i >= 0; i--) {
    const r = log[i];
    if (r.name === 'TDH.PHYMEM.PAGE.WBINVD' && r.status === 'TDX_SUCCESS') {
      for (let f = r.args.pfn, end = f + pagesAt(r.args.level); f < end; f++) flushed.add(f);
      continue;
    }
    if (r.name !== 'TDH.MEM.PAGE.REMOVE' || r.status !== 'TDX_SUCCESS' || r.outPfn === undefined || r.td === null || tdBugged(c.world, r.td)) continue;
    for (let f: number = r.outPfn, end = f + pagesAt(r.args.level); f < end; f++) {
      if (!flushed.has(f)) {
        // The earliest such REMOVE is the one reported, as a forward walk would.
        found = `PFN ${hex(f)}, removed from GPA ${hex(r.args.gpa)} by TDH.MEM.PAGE.REMOVE, was never written back with TDH.PHYMEM.PAGE.WBINVD`;
        break;
      }
    }
  }
  return found;
}

/**
 * A frame guest_memfd freed in this step that a later SEAMCALL of the same
 * step still took (a REMOVE or WBINVD of a page that contains it): it was
 * given back to the host while the TD could still reach it. The records'
 * ranges are sorted by start, with the furthest end reached so far, so a
 * punch of many pages costs n log n, not the product of frees and records.
 */
function freedBeforeUse(c: CheckCtx): string | undefined {
  const freed = c.step.freedSeq;
  if (freed.length === 0) return undefined;
  const log = c.step.seamcall.log;
  const outs: Array<{ start: number; end: number; at: number }> = [];
  log.forEach((x, at) => {
    if ('outPfn' in x && x.outPfn !== undefined) outs.push({ start: x.outPfn, end: x.outPfn + pagesAt(x.args.level), at });
  });
  outs.sort((a, b) => a.start - b.start || a.at - b.at);
  const reach: number[] = [];
  outs.forEach((o, i) => reach.push(Math.max(o.end, i > 0 ? reach[i - 1] : -Infinity)));
  for (const f of freed) {
    const end = f.pfn + f.count;
    // The records that start below the freed span's end, latest start first,
    // for as long as one of them can still reach into it.
    let lo = 0;
    let hi = outs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (outs[mid].start < end) lo = mid + 1;
      else hi = mid;
    }
    let first: { start: number; at: number } | undefined;
    for (let i = lo - 1; i >= 0 && reach[i] > f.pfn; i--) {
      const o = outs[i];
      if (o.end > f.pfn && o.at >= f.seq && (!first || o.at < first.at)) first = o;
    }
    // The first SEAMCALL that still took the frame, as the log tells it.
    if (first) return `PFN ${hex(Math.max(first.start, f.pfn))} was freed by guest_memfd before its ${log[first.at].name}`;
  }
  return undefined;
}

function findLast<T>(a: T[], before: number, pred: (x: T) => boolean): number {
  for (let i = before - 1; i >= 0; i--) if (pred(a[i])) return i;
  return -1;
}

/** The TDX module's own operand rules (tdx.md §3.1): when it answers TDX_OPERAND_INVALID. */
function moduleRejectsOperands(r: FolioSensitive): boolean {
  switch (r.name) {
    case 'TDH.MEM.PAGE.AUG': {
      const n = pagesAt(r.args.level);
      return r.args.level > 1 || r.args.gpa % (n * PAGE_SIZE) !== 0 || r.args.pfn % n !== 0;
    }
    case 'TDH.PHYMEM.PAGE.WBINVD': return r.args.pfn % pagesAt(r.args.level) !== 0;
    // RECLAIM has no operand the module could find invalid here.
    case 'TDH.PHYMEM.PAGE.RECLAIM': return false;
  }
}

function rangeFree(w: World, pfn: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (pamtEntry(w.tdx, pfn + i)) return false;
  return true;
}

/** The SEAMCALLs whose wrappers a folio-taking design could refuse. */
type FolioSensitive = RecordOf<'TDH.MEM.PAGE.AUG' | 'TDH.PHYMEM.PAGE.WBINVD' | 'TDH.PHYMEM.PAGE.RECLAIM'>;
const folioSensitive = (r: SeamcallRecord): r is FolioSensitive =>
  isLeaf(r, 'TDH.MEM.PAGE.AUG', 'TDH.PHYMEM.PAGE.WBINVD', 'TDH.PHYMEM.PAGE.RECLAIM');

export const hugepageFolioAgnostic: Invariant = {
  id: 'hugepage-folio-agnostic',
  summary: 'A map or unmap the TDX module would accept never fails because of how guest_memfd splits its folios.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    // Whoever refused it, an OPERAND_INVALID for operands the module accepts
    // came from something above the module that looked at more than PFNs.
    for (const r of c.step.seamcall.log) {
      if (r.status !== 'TDX_OPERAND_INVALID' || !folioSensitive(r)) continue;
      if (moduleRejectsOperands(r)) continue;
      const n = 'level' in r.args ? pagesAt(r.args.level) : 1;
      const pfn = r.args.pfn;
      const free = r.name === 'TDH.MEM.PAGE.AUG' ? rangeFree(c.world, pfn, n) : true;
      if (free) {
        out.push(v(this.id, `${c.call.op}: ${r.name} of PFN ${hex(pfn)} (${n} pages${'gpa' in r.args ? `, GPA ${hex(r.args.gpa)}` : ''}) refused with TDX_OPERAND_INVALID; the module would accept an aligned, contiguous, free range`));
      }
    }
    return out;
  },
};
