// The body's memory shapes: a read after the call that changed a place, a
// read just past a range, punches and conversions under guest mappings and
// over several slots, pins that outlive their mapping or refuse a
// conversion, memslots moved or re-flagged under live mappings, and mmaps
// across the end of a file.

import { ATTR_FLAGS, FALLOC_FLAGS, MEMSLOT_FLAGS, type Op } from '../program/calls.js';
import { aint, type ACall, type AVal } from './abstract.js';
import { conversion, cpuOf, fallocate, guestRead, guestWrite, hostRead, hostWrite, K, M2, mapFile, punchRange, type BodyDesign } from './build.js';
import { U64 } from './values.js';

/**
 * The read that checks what a content-changing call did, or none: the same
 * GPA for guest-side calls, the same mapping offset for host writes, and for
 * guest_memfd-side calls (punch, allocate, in-place conversion) the file
 * offset read through the guest_memfd mapping the setup makes, or as a GPA.
 */
export function readAfter(c: ACall, how: number): ACall | null {
  const a = c.args;
  switch (c.op) {
    case 'GUEST_ACCESS': return a.write?.k === 'int' && a.write.v !== 0n ? guestRead(cpuOf(c), a.gpa, a.private.k === 'int' ? a.private.v : 1n) : null;
    case 'GUEST_ACCEPT': case 'KVM_TDX_INIT_MEM_REGION': return guestRead(cpuOf(c), a.gpa, 1n);
    case 'KVM_SET_MEMORY_ATTRIBUTES': return guestRead(cpuOf(c), a.gpa, a.attributes.k === 'int' && a.attributes.v !== 0n ? 1n : 0n);
    case 'HOST_WRITE': return hostRead(c.picks[0] ?? 0, a.offset);
    case 'FALLOCATE': case 'KVM_SET_MEMORY_ATTRIBUTES2': return how % 2 === 0 ? hostRead(1, a.offset) : guestRead(how, a.offset, BigInt(how % 3 === 0 ? 0 : 1));
    case 'MUNMAP': return how % 2 === 0 ? hostRead(c.picks[0] ?? 0, aint(0)) : guestRead(how, aint(BigInt(how % 4) * 0x1000n), 0n);
    default: return null;
  }
}

/**
 * The read of the first page past the end of a conversion or a punch (the
 * GPA, or the file offset through the guest_memfd mapping or as a GPA),
 * which the call must have left alone: an invalidation that runs one page
 * long takes a page it did not name. Most setups make every page private,
 * so the neighbour is read as private.
 */
export function readPastEnd(c: ACall, how: number): ACall | null {
  const a = c.args;
  const len = c.op === 'FALLOCATE' ? a.len : a.size;
  const start = c.op === 'KVM_SET_MEMORY_ATTRIBUTES' ? a.gpa : a.offset;
  // A range that runs past 2^64 has no page past its end (and no u64 to name one).
  if (start?.k !== 'int' || len?.k !== 'int' || start.v + len.v > U64) return null;
  const end = aint(start.v + len.v);
  switch (c.op) {
    case 'KVM_SET_MEMORY_ATTRIBUTES': return guestRead(cpuOf(c), end, 1n);
    case 'FALLOCATE': case 'KVM_SET_MEMORY_ATTRIBUTES2': return how % 2 === 0 ? hostRead(1, end) : guestRead(how, end, 1n);
    default: return null;
  }
}

/**
 * A punch hole under a guest mapping that reaches the file through a host
 * mmap: a plain memslot over the guest_memfd mapping the setup makes, the
 * guest writes three of its pages, then a range of the file that does not
 * start at offset 0 is punched, and the guest reads the last page punched.
 * Truncation unmaps the punched range from every host mapping of the file
 * (unmap_mapping_range()), and the MMU notifier must zap exactly the GFNs
 * behind it before the frames are freed.
 */
export function punchUnderMapping(c: ACall, how: number): ACall[] {
  const gpa = 0x800000n;
  const first = BigInt(1 + (how % 2));
  const slot: ACall = { op: 'KVM_SET_USER_MEMORY_REGION2', picks: [0], args: { slot: aint(3), flags: aint(0), gpa: aint(gpa), size: aint(4n * K), uaddr: { k: 'map', pick: 1, off: 0n }, gmem: aint(-1n), offset: aint(0) } };
  const write = (page: bigint): ACall => guestWrite(0, aint(gpa + page * K), 0n, 0x30n + page);
  const punch: ACall = { op: c.op, picks: c.picks, args: { mode: aint(FALLOC_FLAGS.KEEP_SIZE | FALLOC_FLAGS.PUNCH_HOLE), offset: aint(first * K), len: aint(2n * K) } };
  return [slot, write(1n), write(2n), write(3n), punch, guestRead(0, aint(gpa + (first + 1n) * K), 0n)];
}

/**
 * A long-term pin that outlives what mapped its page: the mapping is
 * unmapped (`how` odd) or, for a guest_memfd mapping, the page punched out
 * of the file, and only then is the page unpinned. The pin holds the frame
 * (FOLL_LONGTERM keeps a reference), and the last unpin must free it.
 * Random HOST_UNPINs almost never name a pinned page.
 */
export function pinOutlives(c: ACall, how: number): ACall[] {
  const offset = c.args.offset ?? aint(0);
  const unpin: ACall = { op: 'HOST_UNPIN', picks: c.picks, args: { offset } };
  const drop: ACall = how % 2 === 1
    ? { op: 'MUNMAP', picks: c.picks, args: {} }
    : fallocate(true, offset, K);
  return [c, drop, unpin];
}

/**
 * A memslot call turned into a plain one over a mapping, then: the guest
 * writes through it (a live shared mapping), the slot moves up by its size,
 * and the guest reads its old place again, which must no longer reach the
 * page (kvm_set_memslot() zaps the old range of a moved slot). Random
 * arguments almost never line these four up.
 */
export function moveAfter(c: ACall): ACall[] {
  const gpa = aint(0x800000n);
  const size = 0x4000n;
  const uaddr: AVal = c.args.uaddr?.k === 'map' ? { ...c.args.uaddr, off: 0n } : { k: 'map', pick: c.picks[0] ?? 0, off: 0n };
  const slot: ACall = { ...c, args: { ...c.args, flags: aint(0), gpa, size: aint(size), uaddr, gmem: aint(-1n), offset: aint(0) } };
  const write = guestWrite(cpuOf(c), gpa, 0n, 0x5an);
  const move: ACall = { ...slot, args: { ...slot.args, gpa: aint(0x800000n + size) } };
  return [slot, write, move, guestRead(cpuOf(c), gpa, 0n)];
}

/**
 * The setup's first memslot issued again with other flags only, as a VMM
 * turning dirty logging on for migration would: same slot, GPA, size
 * (the 2 MiB or 4 MiB of the setup's layouts) and userspace address.
 * kvm_set_memory_region() sees a flags-only change, which a guest_memfd
 * slot must refuse: its binding points at the slot object a flags change
 * replaces. Random memslot calls seldom line up slot, GPA, size and
 * address with an existing slot.
 */
export function reflag(c: ACall, how: number): ACall {
  const flags = [0n, MEMSLOT_FLAGS.LOG_DIRTY_PAGES, MEMSLOT_FLAGS.GUEST_MEMFD | MEMSLOT_FLAGS.LOG_DIRTY_PAGES][how % 3];
  return { op: c.op, picks: [0], args: { slot: aint(0), flags: aint(flags), gpa: aint(0), size: aint(how % 2 === 0 ? M2 : 2n * M2), uaddr: { k: 'map', pick: 0, off: 0n }, gmem: { k: 'gmem', pick: 0 }, offset: aint(0) } };
}

/**
 * A conversion to private of a page a plain memslot reaches through the
 * host's mapping of the file (in-place designs): the file's first four
 * pages are made shared and mapped, a memslot without guest_memfd is placed
 * over that mapping, the guest writes its second page, the file's second
 * page is made private, and the guest reads it again through that slot.
 * Converting to private unmaps the page from every host mapping, and the
 * MMU notifier must take the shared SPTE the plain slot built on it: the
 * read must fault, not return what was written. The shape makes its own
 * shared pages and mapping: a setup's pages are mostly private, and its
 * mapping of the file not always there.
 */
export function convertUnderMapping(): ACall[] {
  const gpa = 0x800000n;
  const slot: ACall = { op: 'KVM_SET_USER_MEMORY_REGION2', picks: [0], args: { slot: aint(3), flags: aint(0), gpa: aint(gpa), size: aint(4n * K), uaddr: { k: 'map', pick: -1, off: 0n }, gmem: aint(-1n), offset: aint(0) } };
  return [
    conversion(true, aint(0), 4n * K, 0n),
    mapFile(0, 0n, 4n * K),
    slot,
    guestWrite(0, aint(gpa + K), 0n, 0x4bn),
    conversion(true, aint(K), K, ATTR_FLAGS.PRIVATE),
    guestRead(0, aint(gpa + K), 0n),
  ];
}

/**
 * One event over two memslots that both have live guest mappings: the guest
 * accepts and writes a page of each of the setup's two slots (GPA 0 and
 * 2 MiB in its two-slot layouts of 4 MiB files; which page, from `how`),
 * then the first file's whole 4 MiB is punched or converted to shared
 * (through the file where it owns privacy, else through the VM's
 * attributes), and the guest reads both pages again. The invalidation must
 * reach the leaves of every slot the range covers, the later ones too;
 * random calls seldom leave mappings in two slots just before such a range
 * (2 to 5 conversions and 0 to 3 punches in 300 programs of a profile
 * before this shape, 6 to 11 and 2 to 5 with it).
 */
export function acrossSlots(convert: boolean, how: number, design: BodyDesign): ACall[] {
  const page = BigInt(how % 2) * K;
  const gpas = [page, M2 + page];
  const out: ACall[] = [];
  for (const gpa of gpas) {
    out.push({ op: 'GUEST_ACCEPT', picks: [0], args: { gpa: aint(gpa), level: aint(0) } });
    out.push(guestWrite(0, aint(gpa), 1n, 0x60n + gpa / M2));
  }
  out.push(convert ? conversion(design.inPlace, aint(0), 2n * M2) : punchRange(0n, 2n * M2));
  for (const gpa of gpas) out.push(guestRead(0, aint(gpa), convert ? 0n : 1n));
  return out;
}

/**
 * A conversion to private of two pages, one of which the host holds a
 * long-term pin on (designs where the file owns privacy): the pages are
 * made shared, the first or the second (`how`) is mapped from the file,
 * written by the host and pinned; the conversion must then fail with
 * EAGAIN, naming that page in error_offset, and leave every attribute as it
 * was (the reference-count check of the in-place conversion series, before
 * its point of no return), and succeed once the pin is dropped (every
 * other time after a second pin and its unpin, which must leave the first).
 * Random pins almost never precede a conversion of their own page.
 */
export function pinnedConversion(how: number): ACall[] {
  const convert = (attributes: bigint): ACall => conversion(true, aint(0), 2n * K, attributes);
  const host = (op: Op, extra: Record<string, AVal> = {}): ACall => ({ op, picks: [-1], args: { offset: aint(0), ...extra } });
  // Every other time the page is pinned twice and unpinned once before the
  // refused conversion: the pin left must still refuse it.
  const twice = (how >> 1) % 2 === 1 ? [host('HOST_PIN'), host('HOST_UNPIN')] : [];
  return [
    convert(0n),
    mapFile(0, BigInt(how % 2) * K, K),
    host('HOST_WRITE', { byte: aint(0x77n) }),
    host('HOST_PIN'),
    ...twice,
    convert(ATTR_FLAGS.PRIVATE),
    host('HOST_UNPIN'),
    convert(ATTR_FLAGS.PRIVATE),
  ];
}

/**
 * A mapping across the end of a 4 MiB guest_memfd (the setups' usual size):
 * its last page and the page past it, which the host then touches, past the
 * end first. A fault at an index at or past the file's size is SIGBUS
 * (kvm_gmem_fault_user_mapping()), whatever the mmap covered; the last page
 * is served. Random mappings and offsets seldom meet at the file's end.
 */
export function mapAcrossEnd(c: ACall, how: number): ACall[] {
  const map = mapFile(c.picks[0] ?? 0, 2n * M2 - K, 2n * K);
  const past = how % 2 === 0 ? hostRead(-1, aint(K)) : hostWrite(-1, aint(K), 0x3en);
  return [map, past, hostRead(-1, aint(0))];
}
