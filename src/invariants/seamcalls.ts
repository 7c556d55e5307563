// Invariants read off the step's SEAMCALL log (tdx.md §7): no double
// ADD/AUG, the removal order, what the folio-taking wrappers refused.

import { frameFree, isLeaf, PAGE_SIZE, pagesAt, pamtEntry, type RecordOf, type SeamcallRecord, type World } from '../model/view.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex } from './util.js';

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
      if (r.name !== 'TDH.MEM.PAGE.REMOVE') return;
      const gpa = r.args.gpa;
      const blockAt = findLast(log, i, (x) => x.name === 'TDH.MEM.RANGE.BLOCK' && x.args.gpa === gpa && x.status === 'TDX_SUCCESS');
      const runnable = r.opStateBefore === 'RUNNABLE';
      if (runnable && blockAt < 0) {
        out.push(v(this.id, `${c.call.op}: TDH.MEM.PAGE.REMOVE of GPA ${hex(gpa)} in a RUNNABLE TD without a prior BLOCK`));
        return;
      }
      if (runnable && findLast(log, i, (x) => x.name === 'TDH.MEM.TRACK' && x.status === 'TDX_SUCCESS') < blockAt) {
        out.push(v(this.id, `${c.call.op}: TDH.MEM.PAGE.REMOVE of GPA ${hex(gpa)} in a RUNNABLE TD with no TDH.MEM.TRACK between BLOCK and REMOVE`));
      }
    });
    const gap = unflushedRemoval(c);
    if (gap) out.push(v(this.id, `${c.call.op}: ${gap}`));
    // Frames guest_memfd freed in this step must not still be mapped, or be
    // removed only afterwards.
    for (const f of c.step.freedSeq) {
      for (const x of log.slice(f.seq)) {
        const pfn = 'outPfn' in x ? x.outPfn : undefined;
        if (pfn === undefined || pfn < f.pfn || pfn >= f.pfn + f.count) continue;
        out.push(v(this.id, `${c.call.op}: PFN ${hex(pfn)} was freed by guest_memfd before its ${x.name}`));
        break;
      }
    }
    if (c.full) {
      // Without the step's record of freed frames: a frame still assigned to
      // a live TD in the PAMT is never back with the host allocator.
      for (const [pfn, e] of c.world.tdx.pamt) {
        if (!frameFree(c.world.pfns, pfn) || tdBugged(c.world, e.owner)) continue;
        out.push(v(this.id, `${c.call.op}: PFN ${hex(pfn)} is free in the host allocator while the PAMT still assigns it to TD ${e.owner} as ${e.type}`));
        break;
      }
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
  for (let i = 0; i < log.length; i++) {
    const r = log[i];
    if (r.name !== 'TDH.MEM.PAGE.REMOVE' || r.status !== 'TDX_SUCCESS' || r.outPfn === undefined || r.td === null || tdBugged(c.world, r.td)) continue;
    const spans: Array<[number, number]> = [];
    for (const x of log.slice(i + 1)) if (x.name === 'TDH.PHYMEM.PAGE.WBINVD' && x.status === 'TDX_SUCCESS') spans.push([x.args.pfn, x.args.pfn + pagesAt(x.args.level)]);
    spans.sort((a, b) => a[0] - b[0]);
    // The first frame of [outPfn, outPfn + n) no flush after the REMOVE covers.
    let next: number = r.outPfn;
    const end = r.outPfn + pagesAt(r.args.level);
    for (const [from, to] of spans) if (from <= next && to > next) next = to;
    if (next < end) return `PFN ${hex(next)}, removed from GPA ${hex(r.args.gpa)} by TDH.MEM.PAGE.REMOVE, was never written back with TDH.PHYMEM.PAGE.WBINVD`;
  }
  return undefined;
}

function tdBugged(w: World, td: number): boolean {
  for (const vm of w.vms.values()) if (vm.tdx?.td === td) return vm.bugged;
  return false;
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
