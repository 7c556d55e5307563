// Which GFNs a conversion or a punch invalidates, by the oracle's own slot
// arithmetic (index = gfn - base + pgoff, written again in places.ts): a
// per-VM conversion (KVM_SET_MEMORY_ATTRIBUTES) its GFN range; a conversion
// of a file (KVM_SET_MEMORY_ATTRIBUTES2) or a punch hole the GFNs of every
// memslot bound to the file range. The kernel zaps exactly these
// (kvm_mmu_unmap_gfn_range() from kvm_vm_set_mem_attributes() and from
// guest_memfd's invalidation of its bindings).

import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import { FALLOC_FLAGS } from '../program/calls.js';
import { gfnsOfGmemRange } from './places.js';
import type { RefState } from './state.js';

/** GFN ranges [start, end) per VM id. */
export type GfnRanges = Map<number, Array<[number, number]>>;

function add(out: GfnRanges, vmId: number, start: number, end: number): void {
  if (start < end) out.set(vmId, [...(out.get(vmId) ?? []), [start, end]]);
}

const pageUp = (bytes: bigint): number => Number((bytes + 0xfffn) >> 12n);

/** The GFNs the call invalidates, per VM; undefined for a call that is not a conversion or a punch. */
export function invalidatedGfns(ref: RefState, c: ExecCall<Op>): GfnRanges | undefined {
  const a = c.args;
  const fd = c.handles[0];
  const e = fd === undefined ? undefined : ref.fds.get(fd);
  const out: GfnRanges = new Map();
  if (c.op === 'KVM_SET_MEMORY_ATTRIBUTES') {
    if (e?.kind === 'vm') add(out, e.id, Number(a.gpa >> 12n), pageUp(a.gpa + a.size));
    return out;
  }
  const punch = c.op === 'FALLOCATE' && (a.mode & FALLOC_FLAGS.PUNCH_HOLE) !== 0n;
  if (!punch && c.op !== 'KVM_SET_MEMORY_ATTRIBUTES2') return undefined;
  if (e?.kind !== 'gmem') return out;
  const start = Number(a.offset >> 12n);
  const end = pageUp(a.offset + (punch ? a.len : a.size));
  for (const [vm, from, to] of gfnsOfGmemRange(ref, e.id, start, end)) add(out, vm.id, from, to);
  return out;
}
