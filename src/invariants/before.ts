// A small summary of the state before a step, taken by the runner so that
// transition rules (T in gmem.md) can compare before and after without a copy
// of the world. Its cost is per VM, never per page.

import type { TdState } from '../model/kvm/vm.js';
import type { World } from '../model/world.js';
import type { ExecCall } from '../model/exec.js';
import type { MmuRoot } from '../model/mmu/spte.js';
import type { FreeList } from './frames.js';
import { targetVm } from './util.js';

export interface VmBefore {
  tdState: TdState | null;
  bugged: boolean;
  dead: boolean;
  preFaultAllowed: boolean;
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
  /** Digest of what a failed call must not change. */
  fingerprint: number;
  /** The host allocator's free spans (segments are replaced, never edited, so a shallow copy is a snapshot). */
  free: FreeList;
}

/** Whether a leaf of any level covers `gfn` (the walk of leafFor(), done here). */
function leafCovers(root: MmuRoot, gfn: number): boolean {
  return root.leaves[0].has(gfn) || root.leaves[1].has(gfn - (gfn % 512)) || root.leaves[2].has(gfn - (gfn % 262144));
}

export function takeBefore(w: World, call: ExecCall): Before {
  const vms = new Map<number, VmBefore>();
  for (const vm of w.vms.values()) {
    vms.set(vm.id, {
      tdState: vm.tdx?.state ?? null,
      bugged: vm.bugged,
      dead: vm.dead,
      preFaultAllowed: vm.tdx?.preFaultAllowed ?? false,
      mrtdRecords: vm.tdx?.td != null ? (w.tdx.tds.get(vm.tdx.td)?.mrtd.records.length ?? 0) : 0,
      initVcpus: vm.vcpus.reduce((n, id) => n + (w.vcpus.get(id)?.tdxInitialized ? 1 : 0), 0),
      slots: vm.memslots.slice(),
    });
  }
  let mirrorLeafAtGpa = false;
  const vm = targetVm(w, call);
  if (vm && call.args.gpa !== undefined && call.args.gpa < 1n << 52n) {
    mirrorLeafAtGpa = leafCovers(vm.mmu.mirror, Number(call.args.gpa >> 12n));
  }
  return { vms, mirrorLeafAtGpa, fingerprint: fingerprint(w), free: { spans: w.pfns.free.segs.slice(), bump: w.pfns.bump } };
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
