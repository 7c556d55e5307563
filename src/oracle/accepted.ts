// Which GFNs of a TD the guest holds as private, accepted memory: pages it
// accepted (TDG.MEM.PAGE.ACCEPT answered OK) or that INIT_MEM_REGION added
// before finalize (PAGE.ADD leaves them MAPPED), and that nothing the
// semantics name has taken away since. Only these take a page away from a
// TD: a conversion of its GFN or gmem index, a punch hole over it, a memslot
// change of its VM, the release of its guest_memfd, and the end of the VM.
// KVM never zaps a private leaf for any other reason, because for a TD that
// is TDH.MEM.PAGE.REMOVE and the guest's data is gone (tdx.md §4; splitting a
// huge leaf for a partial zap demotes it, it does not drop the rest).
//
// Every removal event clears more than it strictly needs to (the whole VM on
// a memslot change), so the prediction errs towards checking less, never
// towards a false alarm.

import { RangeMap } from './intervals.js';
import { gfnsOfGmemRange } from './places.js';
import type { RefState, RefVm } from './state.js';

const ALL = Number.MAX_SAFE_INTEGER;

export function accept(vm: RefVm, gfn: number, pages: number): void {
  vm.accepted.set(gfn, gfn + pages, true);
}

export function forgetVm(vm: RefVm): void {
  vm.accepted = new RangeMap();
}

/** A range of a guest_memfd lost its pages or changed privacy: every GFN bound to it forgets. */
export function forgetGmemRange(ref: RefState, gmemId: number, start: number, end: number): void {
  for (const [vm, from, to] of gfnsOfGmemRange(ref, gmemId, start, end)) vm.accepted.clear(from, to);
}

/** The whole of a guest_memfd, as when it is released. */
export function forgetGmem(ref: RefState, gmemId: number): void {
  forgetGmemRange(ref, gmemId, 0, ALL);
}

/** Whether the guest holds `gfn` as accepted private memory. */
export function isAccepted(vm: RefVm, gfn: number): boolean {
  return vm.accepted.get(gfn) === true;
}

/** GFNs past 2^40 name no page a guest can have (and keep the arithmetic exact). */
const GFN_LIMIT = 2 ** 40;

/** [gpa, gpa + pages * 4 KiB) as a GFN range inside the limit, or null when empty. */
export function gfnRange(gpa: bigint, pages: bigint): [number, number] | null {
  const first = gpa >> 12n;
  if (first >= BigInt(GFN_LIMIT) || pages <= 0n) return null;
  const end = first + pages;
  return [Number(first), end > BigInt(GFN_LIMIT) ? GFN_LIMIT : Number(end)];
}

/** An accept or a populate named these GFNs: from now on they may have been accepted. */
export function nameGfns(vm: RefVm, gpa: bigint, pages: bigint): void {
  const r = gfnRange(gpa, pages);
  if (r) vm.named.set(r[0], r[1], true);
}

/** The first GFN of the range that nothing ever named, if any. */
export function firstUnnamed(vm: RefVm, gpa: bigint, pages: bigint): number | undefined {
  const r = gfnRange(gpa, pages);
  return r ? vm.named.firstGap(r[0], r[1]) : undefined;
}
