// Where an access lands, recomputed by the oracle: a GFN's memslot and
// guest_memfd index (index = gfn - base + pgoff), its privacy (per-VM
// attribute, or the in-place attribute of the bound file), and which page a
// guest or host access may reach (gmem.md §4.2, §7, §12; tdx.md §4.1-4.2).

import { GMEM_FLAGS } from '../program/calls.js';
import type { Place, RefGmem, RefMapping, RefSlot, RefState, RefVm } from './state.js';

/** A TD's shared bit is the top bit of its GPA width: bit 47 for GPAW 48, bit 51 for GPAW 52. */
export const sharedBitOf = (vm: RefVm): bigint => 1n << BigInt(vm.gpaw - 1);
export const GPA_END = 1n << 52n;

export function slotOf(vm: RefVm, gfn: number): RefSlot | undefined {
  for (const s of vm.slots) if (gfn >= s.baseGfn && gfn < s.baseGfn + s.npages) return s;
  return undefined;
}

/** The guest_memfd index a GFN of a slot is backed by. */
export const indexOf = (s: RefSlot, gfn: number): number => s.pgoff + (gfn - s.baseGfn);

/** The GFNs of every memslot bound to indexes [start, end) of a guest_memfd, as [VM, first GFN, end GFN) per slot. */
export function gfnsOfGmemRange(ref: RefState, gmemId: number, start: number, end: number): Array<[RefVm, number, number]> {
  const out: Array<[RefVm, number, number]> = [];
  for (const vm of ref.vms.values()) {
    for (const s of vm.slots) {
      if (s.gmem !== gmemId) continue;
      const from = Math.max(start, s.pgoff);
      const to = Math.min(end, s.pgoff + s.npages);
      if (from < to) out.push([vm, s.baseGfn + (from - s.pgoff), s.baseGfn + (to - s.pgoff)]);
    }
  }
  return out;
}

/** The live file bound to a slot, if any. */
export function liveGmem(ref: RefState, s: RefSlot | undefined): RefGmem | undefined {
  if (!s || s.gmem === null) return undefined;
  const g = ref.gmems.get(s.gmem);
  return g && !g.released ? g : undefined;
}

/** Whether a guest_memfd page is private as far as the host is concerned. */
export function indexPrivate(ref: RefState, g: RefGmem, index: number): boolean {
  if (ref.inPlace) return g.priv.get(index) === true;
  return (g.flags & GMEM_FLAGS.INIT_SHARED) === 0n;
}

/** Whether a GFN of a VM is private (kvm_mem_is_private()). */
export function gfnPrivate(ref: RefState, vm: RefVm, gfn: number): boolean {
  if (!ref.inPlace) return vm.attrs.get(gfn) === true;
  const s = slotOf(vm, gfn);
  const g = liveGmem(ref, s);
  return g !== undefined && g.priv.get(indexOf(s!, gfn)) === true;
}

export type Reach = { ok: true; place: Place } | { ok: false; why: string };

const no = (why: string): Reach => ({ ok: false, why });

export function mappingAtVa(ref: RefState, va: bigint): RefMapping | undefined {
  for (const m of ref.mappings.values()) {
    if (va >= m.va && va < m.end && !m.unmapped) return m;
  }
  return undefined;
}

/** The page a host access at `offset` of a mapping reaches, or why it is SIGBUS. */
export function hostReach(ref: RefState, m: RefMapping | undefined, offset: bigint): Reach {
  if (!m || m.unmapped) return no('no live mapping');
  if (offset < 0n || offset >= m.end - m.va) return no('past the end of the mapping');
  const page = Number(offset >> 12n);
  if (m.gmem === null) return { ok: true, place: { kind: 'anon', mapping: m.id, page } };
  const g = ref.gmems.get(m.gmem)!;
  const index = m.pgoff + page;
  if (index >= g.sizePages) return no('past the end of the guest_memfd');
  if (indexPrivate(ref, g, index)) return no(`g${g.id} index 0x${index.toString(16)} is private`);
  return { ok: true, place: { kind: 'gmem', gmem: g.id, index } };
}

/** A shared guest access: guest_memfd for a gmem-only slot, else the host page at userspace_addr. */
function sharedReach(ref: RefState, vm: RefVm, gfn: number): Reach {
  if (gfnPrivate(ref, vm, gfn)) return no(`GFN 0x${gfn.toString(16)} is private`);
  const s = slotOf(vm, gfn);
  if (!s) return no(`GFN 0x${gfn.toString(16)} has no memslot`);
  if (s.gmemOnly) {
    const g = liveGmem(ref, s);
    if (!g) return no(`the guest_memfd of memslot ${s.id} is gone`);
    const index = indexOf(s, gfn);
    if (!ref.inPlace && (g.flags & GMEM_FLAGS.INIT_SHARED) === 0n) return no(`g${g.id} has no shared pages`);
    return { ok: true, place: { kind: 'gmem', gmem: g.id, index } };
  }
  const hva = s.uaddr + BigInt(gfn - s.baseGfn) * 4096n;
  const m = mappingAtVa(ref, hva);
  return hostReach(ref, m, m ? hva - m.va : 0n);
}

function privateReach(ref: RefState, vm: RefVm, gfn: number): Reach {
  if (!gfnPrivate(ref, vm, gfn)) return no(`GFN 0x${gfn.toString(16)} is shared`);
  const s = slotOf(vm, gfn);
  const g = liveGmem(ref, s);
  if (!g) return no(`GFN 0x${gfn.toString(16)} has no live guest_memfd`);
  return { ok: true, place: { kind: 'gmem', gmem: g.id, index: indexOf(s!, gfn) } };
}

/** The page a GUEST_ACCESS may reach: a TD picks private or shared by the access and the shared bit; other VMs by the attribute. */
export function guestReach(ref: RefState, vm: RefVm, gpa: bigint, privateAccess: boolean): Reach {
  if (vm.kind === 'TDX') {
    const bit = sharedBitOf(vm);
    if (gpa >= bit << 1n) return no('GPA beyond GPAW');
    const shared = !privateAccess || (gpa & bit) !== 0n;
    const gfn = Number((gpa & ~bit) >> 12n);
    return shared ? sharedReach(ref, vm, gfn) : privateReach(ref, vm, gfn);
  }
  if (gpa >= GPA_END) return no('GPA beyond MAXPHYADDR');
  const gfn = Number(gpa >> 12n);
  return gfnPrivate(ref, vm, gfn) ? privateReach(ref, vm, gfn) : sharedReach(ref, vm, gfn);
}

/** The byte a place holds now. */
export function contentOf(ref: RefState, p: Place): number {
  if (p.kind === 'gmem') return ref.gmems.get(p.gmem)?.content.get(p.index) ?? 0;
  return ref.mappings.get(p.mapping)?.content.get(p.page) ?? 0;
}

export function writeContent(ref: RefState, p: Place, byte: number): void {
  const map = p.kind === 'gmem' ? ref.gmems.get(p.gmem)?.content : ref.mappings.get(p.mapping)?.content;
  const at = p.kind === 'gmem' ? p.index : p.page;
  if (!map) return;
  if (byte === 0) map.clear(at, at + 1);
  else map.set(at, at + 1, byte);
  if (p.kind === 'gmem') ref.gmems.get(p.gmem)!.allocated.set(at, at + 1, true);
}
