// Invariants of guest_memfd and its host side (gmem.md §11-13, invariants.md):
// bindings, zeroing before first exposure, and no host access to private
// memory.

import { frameByte, gmemPageOfFrame, pagesAt, pamtEntry, segmentsMeeting, writtenFrames, type World } from '../model/view.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex, tdBugged, vmOfTd } from './util.js';
import { reporter } from './reporter.js';

export const gmemBindings: Invariant = {
  id: 'gmem-bindings',
  summary: 'Bindings are disjoint, inside the file, on the same VM; guest_memfd memslots are never moved or re-flagged; closing clears bindings.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const say = reporter(out, this.id, `${c.call.op}: `);
    const w = c.world;
    for (const id of c.full ? w.gmems.keys() : w.step.touched.gmems) {
      const g = w.gmems.get(id);
      if (!g) continue;
      const vm = w.vms.get(g.vmId)!;
      if (g.released && g.bindings.segs.length > 0) say(`released g${g.id} still has ${g.bindings.segs.length} binding(s)`);
      for (const s of g.bindings.segs) {
        if (s.end > g.inode.sizePages) say(`g${g.id} binding [${hex(s.start)}, ${hex(s.end)}) runs past the file (${hex(g.inode.sizePages)} pages)`);
        const slot = vm.memslots.find((m) => m.uid === s.value);
        if (!slot) {
          say(`g${g.id} index ${hex(s.start)} is bound to memslot uid ${s.value}, which no longer exists (use-after-free)`);
          continue;
        }
        if (slot.gmemId !== g.id || s.start < slot.pgoff || s.end > slot.pgoff + slot.npages) say(`g${g.id} binding [${hex(s.start)}, ${hex(s.end)}) does not match memslot ${slot.id}`);
      }
    }
    for (const vmId of c.full ? w.vms.keys() : w.step.touched.vms) {
      const vm = w.vms.get(vmId);
      const b = c.before.vms.get(vmId);
      if (!vm || !b) continue;
      for (const old of b.slots) {
        if (!(old.flags & 4n)) continue;
        const now = vm.memslots.find((s) => s.id === old.id);
        if (now && now.uid !== old.uid) say(`guest_memfd memslot ${old.id} of vm${vm.id} was replaced (flags ${hex(old.flags)} -> ${hex(now.flags)}); it may only be deleted`);
      }
      for (const slot of vm.memslots) {
        if (slot.gmemId === null) continue;
        const g = w.gmems.get(slot.gmemId)!;
        if (g.vmId !== vm.id) say(`memslot ${slot.id} of vm${vm.id} is bound to g${g.id} of vm${g.vmId}`);
        const segs = segmentsMeeting(g.bindings.segs, slot.pgoff, slot.pgoff + slot.npages);
        if (segs.length !== 1 || segs[0].value !== slot.uid || segs[0].end - segs[0].start !== slot.npages) say(`memslot ${slot.id} of vm${vm.id} is not fully bound in g${g.id}`);
      }
    }
    return out;
  },
};

export const zeroBeforeExposure: Invariant = {
  id: 'zero-before-exposure',
  summary: 'A guest_memfd page seen for the first time by guest, host or populate reads 0, and a frame TDH.MEM.PAGE.AUG maps holds what its guest_memfd page holds.',
  check(c: CheckCtx) {
    const out: Violation[] = c.step.firstExposures
      .filter((e) => e.byte !== 0)
      .map((e) => ({ invariant: this.id, message: `${c.call.op}: PFN ${hex(e.pfn)} first exposed to the ${e.by} holding stale byte ${hex(e.byte)}; expected 0` }));
    if (out.length === 0) augmentedContent(c, out);
    if (!c.full || out.length > 0) return out;
    // Without the step's record of first exposures: every page guest_memfd
    // holds as zeroed and seen, that nobody wrote since, must still read 0.
    for (const g of c.world.gmems.values()) {
      const ref = c.ref.gmem(g.id);
      if (!ref) continue;
      for (const run of g.inode.pages.segs) {
        if (!run.value.uptodate) continue;
        for (const [pfn, byte] of writtenFrames(c.world.phys, run.start + run.value.delta, run.end + run.value.delta)) {
          const index = pfn - run.value.delta;
          if (ref.content.get(index) !== undefined || leakedToBuggedTd(c.world, pfn)) continue;
          out.push({ invariant: this.id, message: `${c.call.op}: g${g.id} index ${hex(index)} (PFN ${hex(pfn)}) is exposed holding ${hex(byte)}, but nothing was written there since it was zeroed` });
          return out;
        }
      }
    }
    return out;
  },
};

/**
 * Without the model's record of exposures: every frame a successful
 * TDH.MEM.PAGE.AUG hands a TD holds what the oracle says the guest_memfd
 * page behind it holds, 0 once it was allocated or punched
 * (kvm_gmem_get_pfn() prepares, that is clears, a folio that is not yet
 * up to date before KVM maps it; an in-place conversion keeps the content).
 * One message per AUG at most.
 */
function augmentedContent(c: CheckCtx, out: Violation[]): void {
  for (const r of c.step.seamcall.log) {
    if (r.name !== 'TDH.MEM.PAGE.AUG' || r.status !== 'TDX_SUCCESS' || r.td === null) continue;
    const vm = vmOfTd(c.world, r.td);
    if (!vm || vm.bugged) continue;
    const gfn = r.args.gpa / 4096;
    for (let i = 0; i < pagesAt(r.args.level); i++) {
      const back = c.ref.backing(vm.id, gfn + i);
      if (!back) continue;
      const want = back.gmem.content.get(back.index) ?? 0;
      const have = frameByte(c.world.phys, r.args.pfn + i);
      if (have !== want) {
        out.push({ invariant: 'zero-before-exposure', message: `${c.call.op}: TDH.MEM.PAGE.AUG maps PFN ${hex(r.args.pfn + i)} at GFN ${hex(gfn + i)} holding ${hex(have)}, but g${back.gmem.id} index ${hex(back.index)} holds ${hex(want)} (0 once allocated or punched)` });
        break;
      }
    }
  }
}

/** A frame a bugged TD still holds: its content is whatever the TD left (tdx.md §5.4). */
function leakedToBuggedTd(w: World, pfn: number): boolean {
  const owner = pamtEntry(w.tdx, pfn)?.owner;
  return owner !== undefined && tdBugged(w, owner);
}


export const noHostPrivateAccess: Invariant = {
  id: 'no-host-private-access',
  summary: 'No host access ever reaches a page private to a guest or owned by a TD; such an access is SIGBUS.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    for (const a of c.step.hostAccesses) {
      const owner = pamtEntry(c.world.tdx, a.pfn)?.owner;
      // After TDX_BUG_ON the kernel knowingly lets guest_memfd free pages the
      // S-EPT may still hold (tdx.md §5.4): a leak of a bugged TD is an
      // event, not a violation of a sound design.
      if (owner !== undefined && tdBugged(c.world, owner)) continue;
      if (owner !== undefined) {
        out.push({ invariant: this.id, message: `${c.call.op}: host ${a.what} of PFN ${hex(a.pfn)} succeeded while the PAMT assigns it to TD ${owner}; expected SIGBUS` });
        continue;
      }
      // Privacy as the oracle computes it, never as the host fault path did.
      const page = gmemPageOfFrame(c.world.gmems.values(), a.pfn);
      if (page && c.ref.hostPrivate(page.gmemId, page.index)) {
        out.push({ invariant: this.id, message: `${c.call.op}: host ${a.what} of PFN ${hex(a.pfn)} (g${page.gmemId} index ${hex(page.index)}) succeeded on a private page; expected SIGBUS` });
      }
    }
    if (!c.full) return out;
    // Without the step's record of host accesses: no page the host holds a
    // long-term pin on is owned by a live TD or private to a guest.
    for (const pfn of c.world.pins.keys()) {
      const owner = pamtEntry(c.world.tdx, pfn)?.owner;
      if (owner !== undefined && !tdBugged(c.world, owner)) out.push({ invariant: this.id, message: `${c.call.op}: the host holds a pin on PFN ${hex(pfn)}, which the PAMT assigns to TD ${owner}` });
      const page = owner === undefined ? gmemPageOfFrame(c.world.gmems.values(), pfn) : undefined;
      if (page && c.ref.hostPrivate(page.gmemId, page.index)) out.push({ invariant: this.id, message: `${c.call.op}: the host holds a pin on PFN ${hex(pfn)} (g${page.gmemId} index ${hex(page.index)}), a private page` });
    }
    return out;
  },
};
