// Invariants over guest mappings (tdx.md §7.7, §7.11-14; gmem.md §13.20-21):
// mirror and S-EPT agree, a PFN has one owner, no leaf outlives its page, and
// every mapping matches its GFN's privacy.

import { asGfn, frameFree, gmemPageAt, pagesAt, pamtEntry, rootLeafAt, septLeafAt, septLeavesIn, type Spte, type Vm } from '../model/view.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex, touchedLeaves, touchedLiveVms, vmOfTd } from './util.js';

export const mirrorSeptAgree: Invariant = {
  id: 'mirror-sept-agree',
  summary: 'The mirror leaf of a GFN is present with PFN P iff the S-EPT entry is MAPPED or PENDING with P; tables come before leaves.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    for (const vm of touchedLiveVms(c.world, c.full)) {
      const td = vm.tdx?.td;
      if (td == null || vm.tdx!.hkid === null) continue;
      for (const { base, spte } of touchedLeaves(c.world, vm, 'mirror', c.full)) {
        if (spte.premapped) continue;
        const e = septLeafAt(c.world.tdx, td, base * 4096);
        if (!e || (e.state !== 'MAPPED' && e.state !== 'PENDING') || e.pfn !== spte.pfn || e.level !== spte.level) {
          out.push({ invariant: this.id, message: `${c.call.op}: mirror leaf GFN ${hex(base)} -> PFN ${hex(spte.pfn)} but the S-EPT entry is ${e ? `${e.state} PFN ${hex(e.pfn)} level ${e.level}` : 'FREE'}` });
        }
      }
      const ranges = c.full ? [[vm.id, 0, 2 ** 40]] : c.world.step.touched.gfns.filter(([id]) => id === vm.id);
      for (const [, start, end] of ranges) {
        for (const e of septLeavesIn(c.world.tdx, td, start * 4096, end * 4096)) {
          const gfn = e.gpa / 4096;
          const m = vm.mmu.mirror.leaves[e.level].get(asGfn(gfn));
          if (!m || m.pfn !== e.pfn) {
            out.push({ invariant: this.id, message: `${c.call.op}: S-EPT entry GFN ${hex(gfn)} is ${e.state} PFN ${hex(e.pfn)} but the mirror ${m ? `maps PFN ${hex(m.pfn)}` : 'has no leaf'}` });
          }
        }
      }
    }
    buggedZaps(c, out);
    return out;
  },
};

/**
 * A bugged TD still zaps through the module (tdx.md §1.4: BLOCK, TRACK,
 * REMOVE run after TDX_BUG_ON), and KVM clears the mirror leaf whatever the
 * module answers: so an S-EPT leaf the mirror no longer has is one whose
 * BLOCK, REMOVE or DEMOTE failed (the window tdx.md §5.4 accepts), never
 * one the zap skipped. Which zaps failed comes from the oracle's reading of
 * the SEAMCALL log; a failed TRACK leaves the TD unchecked.
 */
function buggedZaps(c: CheckCtx, out: Violation[]): void {
  for (const vm of c.world.vms.values()) {
    const td = vm.tdx?.td;
    if (!vm.bugged || vm.destroyed || td == null || vm.tdx!.hkid === null) continue;
    if (!c.full && !c.world.step.touched.vms.has(vm.id)) continue;
    const ref = c.ref.vm(vm.id);
    if (!ref || ref.trackFailed) continue;
    for (const e of septLeavesIn(c.world.tdx, td, 0, 2 ** 52)) {
      const gfn = e.gpa / 4096;
      if (rootLeafAt(vm.mmu.mirror, gfn) || ref.zapFailed.covers(gfn, gfn + pagesAt(e.level))) continue;
      out.push({ invariant: 'mirror-sept-agree', message: `${c.call.op}: bugged vm${vm.id}'s mirror has no leaf at GFN ${hex(gfn)}, but the S-EPT still holds it (${e.state} PFN ${hex(e.pfn)}) and no BLOCK, REMOVE or DEMOTE of it failed: the zap never reached the module` });
      break;
    }
  }
}

/** The private leaves of a guest: the mirror of a TD, private SPTEs of other VMs. */
function privateRoot(vm: Vm) {
  return vm.type === 'TDX' ? vm.mmu.mirror : vm.mmu.direct;
}

export const pfnSingleOwner: Invariant = {
  id: 'pfn-single-owner',
  summary: 'A private PFN is mapped at no more than one GPA across all guests, and its PAMT owner is the TD that maps it.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    // Only leaves this step installed can create a clash: compare each with
    // every private leaf of every live guest (cost: touched x mapped).
    const fresh: Array<{ vm: Vm; base: number; spte: Spte }> = [];
    for (const vm of touchedLiveVms(c.world, c.full)) {
      if (vm.type === 'DEFAULT') continue;
      for (const l of touchedLeaves(c.world, vm, vm.type === 'TDX' ? 'mirror' : 'direct', c.full)) if (l.spte.private) fresh.push({ vm, ...l });
    }
    if (fresh.length === 0) return out;
    // Where a span is mapped is only spelled out for a clash: naming every leaf of every step cost more than the sort.
    const spans: Array<{ pfn: number; n: number; vm: number; base: number }> = [];
    for (const vm of c.world.vms.values()) {
      if (vm.destroyed || vm.bugged || vm.type === 'DEFAULT') continue;
      for (const level of [0, 1, 2] as const) {
        for (const [base, spte] of privateRoot(vm).leaves[level]) {
          if (spte.private) spans.push({ pfn: spte.pfn, n: pagesAt(level), vm: vm.id, base });
        }
      }
    }
    spans.sort((a, b) => a.pfn - b.pfn);
    const who = (s: { vm: number; base: number }) => `vm${s.vm} GFN ${hex(s.base)}`;
    for (let i = 1; i < spans.length; i++) {
      const a = spans[i - 1];
      const b = spans[i];
      if (b.pfn < a.pfn + a.n) out.push({ invariant: this.id, message: `${c.call.op}: PFN ${hex(b.pfn)} is mapped at ${who(a)} and at ${who(b)}` });
    }
    for (const f of fresh) {
      const td = f.vm.tdx?.td;
      const owner = td == null ? undefined : pamtEntry(c.world.tdx, f.spte.pfn)?.owner;
      if (td != null && owner !== undefined && owner !== td) {
        out.push({ invariant: this.id, message: `${c.call.op}: PFN ${hex(f.spte.pfn)} mapped by vm${f.vm.id} GFN ${hex(f.base)} but its PAMT owner is TD ${owner}` });
      }
    }
    return out;
  },
};

export const noDanglingSept: Invariant = {
  id: 'no-dangling-sept',
  summary: 'No S-EPT or mirror leaf references a PFN guest_memfd has freed, or one that is not the page backing its GFN now.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    for (const f of c.step.freedSeq) {
      const live = f.mappedBy.filter((s) => !s.includes('[bugged VM]'));
      for (const who of live) out.push({ invariant: this.id, message: `${c.call.op}: guest_memfd freed PFN ${hex(f.pfn)}..${hex(f.pfn + f.count - 1)} while ${who} still mapped it` });
    }
    for (const vm of touchedLiveVms(c.world, c.full)) {
      for (const rootName of ['mirror', 'direct'] as const) {
        for (const { base, spte } of touchedLeaves(c.world, vm, rootName, c.full)) {
          if (c.full) {
            // Without the step's record of freed frames: no live leaf maps a frame the host allocator holds as free.
            const last = spte.pfn + pagesAt(spte.level) - 1;
            const free = frameFree(c.world.pfns, spte.pfn) ? spte.pfn : frameFree(c.world.pfns, last) ? last : undefined;
            if (free !== undefined) out.push({ invariant: this.id, message: `${c.call.op}: vm${vm.id} ${rootName} leaf GFN ${hex(base)} maps PFN ${hex(free)}, which the host allocator holds as free` });
          }
          // The backing page by the oracle's own slot and index arithmetic.
          const slot = c.ref.slot(vm.id, base);
          const fromGmem = spte.private || (slot?.gmemOnly ?? false);
          if (!fromGmem) continue;
          const back = slot ? c.ref.backing(vm.id, base) : undefined;
          const g = back ? c.world.gmems.get(back.gmem.id) : undefined;
          const page = g ? gmemPageAt(g, back!.index) : undefined;
          if (!page || page.pfn !== spte.pfn) {
            out.push({ invariant: this.id, message: `${c.call.op}: vm${vm.id} ${rootName} leaf GFN ${hex(base)} -> PFN ${hex(spte.pfn)} but guest_memfd backs that GFN with ${page ? `PFN ${hex(page.pfn)}` : 'no page'}` });
          }
        }
      }
    }
    return out;
  },
};

/**
 * A conversion or punch takes private pages from a TD (TDH.MEM.PAGE.REMOVE)
 * only inside the range it invalidates: kvm_mmu_unmap_gfn_range() zaps the
 * leaves of [start, end) and splits a huge leaf that crosses an end before
 * taking its inner part. A page removed outside is a guest's data lost.
 */
function removedOutside(c: CheckCtx, out: Violation[]): void {
  const log = c.step.seamcall.log;
  if (log.length === 0) return;
  const ranges = c.ref.invalidated(c.call);
  if (!ranges) return;
  for (const r of log) {
    if (r.name !== 'TDH.MEM.PAGE.REMOVE' || r.status !== 'TDX_SUCCESS' || r.td === null) continue;
    const vm = vmOfTd(c.world, r.td);
    if (!vm || c.before.vms.get(vm.id)?.bugged) continue;
    const first = r.args.gpa / 4096;
    const last = first + pagesAt(r.args.level);
    if (!(ranges.get(vm.id) ?? []).some(([s, e]) => s <= first && last <= e)) {
      out.push({ invariant: 'attr-consistency', message: `${c.call.op}: removed the private page at GFN ${hex(first)}${last - first > 1 ? ` (${last - first} pages)` : ''} of vm${vm.id}, outside the range the call invalidates` });
    }
  }
}

export const attrConsistency: Invariant = {
  id: 'attr-consistency',
  summary: 'Private mappings exist only for private GFNs and shared only for shared; invalidations remove what they invalidate before returning, and no private page outside it.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    removedOutside(c, out);
    for (const vm of touchedLiveVms(c.world, c.full)) {
      for (const rootName of ['mirror', 'direct'] as const) {
        for (const { base, spte } of touchedLeaves(c.world, vm, rootName, c.full)) {
          for (const gfn of [base, base + pagesAt(spte.level) - 1]) {
            // Slot and privacy as the oracle computes them, never as the model did.
            const slot = c.ref.slot(vm.id, gfn);
            if (!slot) {
              out.push({ invariant: this.id, message: `${c.call.op}: vm${vm.id} ${rootName} leaf GFN ${hex(gfn)} -> PFN ${hex(spte.pfn)} outlives its memslot` });
              break;
            }
            const priv = c.ref.gfnPrivate(vm.id, gfn);
            if (priv !== spte.private) {
              out.push({ invariant: this.id, message: `${c.call.op}: vm${vm.id} ${spte.private ? 'private' : 'shared'} leaf GFN ${hex(gfn)} -> PFN ${hex(spte.pfn)} but the GFN is ${priv ? 'private' : 'shared'}` });
              break;
            }
            if (spte.private && !c.ref.backing(vm.id, gfn)) {
              out.push({ invariant: this.id, message: `${c.call.op}: vm${vm.id} private leaf GFN ${hex(gfn)} survives the release of its guest_memfd` });
              break;
            }
          }
        }
      }
    }
    return out;
  },
};
