// A small summary of the state before a step, taken by the runner so that
// transition rules (T in gmem.md) can compare before and after without a copy
// of the world. Its cost is per VM, never per page.

import type { TdState } from '../model/kvm/vm.js';
import type { World } from '../model/world.js';
import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import type { MmuRoot } from '../model/mmu/spte.js';
import type { FreeList } from './frames.js';
import type { StateImage } from './digest.js';
import { imageBefore } from './image.js';
import { targetVm } from './util.js';
import { rootLeafAt, septLeavesIn } from '../model/view.js';

export interface VmBefore {
  tdState: TdState | null;
  bugged: boolean;
  dead: boolean;
  preFaultAllowed: boolean;
  /** The TD's HKID before the step (teardown in the same step may release it). */
  hkid: number | null;
  mrtdRecords: number;
  /** vCPUs that completed KVM_TDX_INIT_VCPU. */
  initVcpus: number;
  /** The memslots as they were (slot objects are replaced, never re-flagged, so a shallow copy is a snapshot). */
  slots: ReadonlyArray<{ uid: number; id: number; flags: bigint; baseGfn: number; npages: number }>;
}

export interface Before {
  vms: Map<number, VmBefore>;
  /** For calls with a gpa: whether the mirror (private) leaf of that GFN was present. */
  mirrorLeafAtGpa: boolean;
  /** The whole state, which a failed call must not change (null for a call that can never fail). */
  image: StateImage | null;
  /**
   * GUEST_ACCEPT at 2 MiB of an aligned GPA only: whether the TD's S-EPT held a 4 KiB leaf in
   * the accept's 2 MiB range, so that a page table sits under its 2 MiB entry.
   */
  hugeAcceptOverTable?: boolean;
  /** INIT_MEM_REGION only: whether the page behind its source address was already faulted in (GUP may fault it in). */
  sourceFaulted?: boolean;
  /** The host allocator's free spans (segments are replaced, never edited, so a shallow copy is a snapshot). */
  free: FreeList;
}

/** The leaf of any level that covers `gfn` (the walk of leafFor(), done here). */
function leafAt(root: MmuRoot, gfn: number) {
  return rootLeafAt(root, gfn)?.spte;
}

/** The state before a call; `image: false` leaves out the whole-state image (the bench's measure of what it costs). */
export function takeBefore(w: World, call: ExecCall<Op>, image = true): Before {
  const vms = new Map<number, VmBefore>();
  for (const vm of w.vms.values()) {
    vms.set(vm.id, {
      tdState: vm.tdx?.state ?? null,
      bugged: vm.bugged,
      dead: vm.dead,
      preFaultAllowed: vm.tdx?.preFaultAllowed ?? false,
      hkid: vm.tdx?.hkid ?? null,
      mrtdRecords: vm.tdx?.td != null ? (w.tdx.tds.get(vm.tdx.td)?.mrtd.records.length ?? 0) : 0,
      initVcpus: vm.vcpus.reduce((n, id) => n + (w.vcpus.get(id)?.tdxInitialized ? 1 : 0), 0),
      slots: vm.memslots.slice(),
    });
  }
  let mirrorLeafAtGpa = false;
  const vm = targetVm(w, call);
  if (vm && call.args.gpa !== undefined && call.args.gpa < 1n << 52n) {
    // A G1 pre-mapped leaf whose PAGE.ADD failed is not a mapped GPA: a retry may add it.
    const leaf = leafAt(vm.mmu.mirror, Number(call.args.gpa >> 12n));
    mirrorLeafAtGpa = leaf !== undefined && !leaf.premapped;
  }
  const td = vm?.tdx?.td;
  // An unaligned GPA is TDX_OPERAND_INVALID before anything else, so only aligned ones are looked at.
  const gpa = call.args.gpa;
  const hugeAcceptOverTable = call.op === 'GUEST_ACCEPT' && call.args.level === 1n && td != null && gpa < 1n << 52n && (gpa & 0x1fffffn) === 0n
    ? septLeavesIn(w.tdx, td, Number(gpa), Number(gpa) + 0x200000).some((e) => e.level === 0)
    : undefined;
  const sourceFaulted = call.op === 'KVM_TDX_INIT_MEM_REGION' && call.args.source !== undefined ? hostPageFaulted(w, call.args.source) : undefined;
  return { vms, mirrorLeafAtGpa, sourceFaulted, hugeAcceptOverTable, image: image ? imageBefore(w, call.op) : null, free: { spans: w.pfns.free.segs.slice(), bump: w.pfns.bump } };
}

/** Whether the page behind a host address is faulted in: an anonymous page touched, or a guest_memfd page allocated and seen. */
function hostPageFaulted(w: World, va: bigint): boolean {
  for (const m of w.mappings.values()) {
    if (m.unmapped || va < m.va || va >= m.va + BigInt(m.sizePages) * 4096n) continue;
    const page = Number((va - m.va) >> 12n);
    if (m.kind === 'anon') return m.anon.has(page);
    const g = w.gmems.get(m.gmemId);
    const index = m.pgoff + page;
    return g?.inode.pages.segs.some((s) => s.start <= index && index < s.end && s.value.uptodate) ?? false;
  }
  return true;
}
