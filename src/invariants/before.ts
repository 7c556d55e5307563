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
  slots: Array<{ uid: number; id: number; flags: bigint; baseGfn: number; npages: number; gmemId: number | null }>;
}

export interface Before {
  vms: Map<number, VmBefore>;
  /** For calls with a gpa: whether the mirror (private) leaf of that GFN was present. */
  mirrorLeafAtGpa: boolean;
  /** Serialised digest of what a failed call must not change. */
  fingerprint: string;
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
      slots: vm.memslots.map((s) => ({ uid: s.uid, id: s.id, flags: s.flags, baseGfn: s.baseGfn, npages: s.npages, gmemId: s.gmemId })),
    });
  }
  let mirrorLeafAtGpa = false;
  const vm = targetVm(w, call);
  if (vm && call.args.gpa !== undefined && call.args.gpa < 1n << 52n) {
    mirrorLeafAtGpa = leafFor(vm.mmu.mirror, Number(call.args.gpa >> 12n)) !== undefined;
  }
  return { vms, mirrorLeafAtGpa, fingerprint: fingerprint(w) };
}

/**
 * What errno-contract compares across a failed call: the shape of every
 * object, not its pages (attributes and bindings are interval maps, so this
 * stays small whatever the guest size).
 */
export function fingerprint(w: World): string {
  const parts: string[] = [];
  for (const vm of w.vms.values()) {
    parts.push(`vm${vm.id}:${vm.tdx?.state}:${vm.vcpus.length}:${vm.memslots.map((s) => `${s.id}/${s.baseGfn}/${s.npages}/${s.flags}/${s.gmemId}`).join(',')}:${vm.attrs.segs.map((s) => `${s.start}-${s.end}`).join(',')}`);
  }
  for (const g of w.gmems.values()) {
    parts.push(`g${g.id}:${g.released}:${g.bindings.segs.map((s) => `${s.start}-${s.end}=${s.value}`).join(',')}:${g.inode.priv.segs.map((s) => `${s.start}-${s.end}`).join(',')}`);
  }
  parts.push(`fds:${[...w.fds.keys()].join(',')}`);
  return parts.join('|');
}
