// A small summary of the state before a step, taken by the runner so that
// transition rules (T in gmem.md) can compare before and after without a copy
// of the world. Its cost is per VM, never per page.

import type { TdState } from '../model/kvm/vm.js';
import type { World } from '../model/world.js';
import { mrtdRecordCount } from '../model/tdx/seamcall.js';
import type { ExecCall } from '../model/exec.js';
import { leafFor } from '../model/mmu/spte.js';
import { targetVm } from './util.js';

export interface VmBefore {
  tdState: TdState | null;
  bugged: boolean;
  dead: boolean;
  preFaultAllowed: boolean;
  mrtdRecords: number;
  /** The memslots as they were (slot objects are replaced, never re-flagged, so a shallow copy is a snapshot). */
  slots: ReadonlyArray<{ uid: number; id: number; flags: bigint; baseGfn: number; npages: number }>;
}

export interface Before {
  vms: Map<number, VmBefore>;
  /** For calls with a gpa: whether the mirror (private) leaf of that GFN was present. */
  mirrorLeafAtGpa: boolean;
  /** Digest of what a failed call must not change. */
  fingerprint: number;
}

export function takeBefore(w: World, call: ExecCall): Before {
  const vms = new Map<number, VmBefore>();
  for (const vm of w.vms.values()) {
    vms.set(vm.id, {
      tdState: vm.tdx?.state ?? null,
      bugged: vm.bugged,
      dead: vm.dead,
      preFaultAllowed: vm.tdx?.preFaultAllowed ?? false,
      mrtdRecords: vm.tdx?.td != null ? mrtdRecordCount(w.tdx, vm.tdx.td) : 0,
      slots: vm.memslots.slice(),
    });
  }
  let mirrorLeafAtGpa = false;
  const vm = targetVm(w, call);
  if (vm && call.args.gpa !== undefined && call.args.gpa < 1n << 52n) {
    // A G1 pre-mapped leaf whose PAGE.ADD failed is not a mapped GPA: a retry may add it.
    const leaf = leafFor(vm.mmu.mirror, Number(call.args.gpa >> 12n));
    mirrorLeafAtGpa = leaf !== undefined && !leaf.spte.premapped;
  }
  return { vms, mirrorLeafAtGpa, fingerprint: fingerprint(w) };
}

/**
 * What errno-contract compares across a failed call: a numeric digest of the
 * shape of every object (fds, VMs, memslots, attribute and binding segments),
 * never of its pages, so it costs the same for any guest size and builds no
 * strings on the hot path.
 */
export function fingerprint(w: World): number {
  let h = 0x811c9dc5;
  const mix = (n: number) => {
    h = Math.imul(h ^ (n | 0), 16777619);
    h = Math.imul(h ^ ((n / 4294967296) | 0), 16777619);
  };
  mix(w.fds.size);
  for (const fd of w.fds.keys()) mix(fd);
  for (const vm of w.vms.values()) {
    mix(vm.id);
    mix(vm.vcpus.length);
    mix(vm.tdx ? ['UNINITIALIZED', 'INITIALIZED', 'RUNNABLE'].indexOf(vm.tdx.state) : -1);
    for (const s of vm.memslots) { mix(s.uid); mix(s.baseGfn); mix(s.npages); mix(Number(s.flags)); mix(s.gmemId ?? -1); }
    for (const s of vm.attrs.segs) { mix(s.start); mix(s.end); }
  }
  for (const g of w.gmems.values()) {
    mix(g.id);
    mix(g.released ? 1 : 0);
    for (const s of g.bindings.segs) { mix(s.start); mix(s.end); mix(s.value); }
    for (const s of g.inode.priv.segs) { mix(s.start); mix(s.end); }
  }
  return h;
}
