// The body of a program: calls over the whole vocabulary, with swarm testing
// (each program favours a random subset of calls, so rare interleavings get
// whole programs to themselves) and argument generators per key. A call that
// changes memory content is sometimes followed by a read of the place it
// changed, so stale or lost content has a reader.

import fc from 'fast-check';
import { CALL_NAMES, CALLS, GMEM_FLAGS, MEMSLOT_FLAGS, FALLOC_FLAGS, ATTR_FLAGS, type Op } from '../program/calls.js';
import { aint, type ACall, type AVal } from './abstract.js';
import * as v from './values.js';

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const pick = fc.nat(7);

/** Relative weight of each call in the body before swarm selection. */
export const BODY_WEIGHTS: Record<Op, number> = {
  KVM_CREATE_VM: 1, KVM_CREATE_VCPU: 2, KVM_CREATE_GUEST_MEMFD: 2, KVM_SET_USER_MEMORY_REGION2: 4,
  KVM_SET_MEMORY_ATTRIBUTES: 6, KVM_SET_MEMORY_ATTRIBUTES2: 6, FALLOCATE: 6, MMAP: 2, MMAP_ANON: 1, MUNMAP: 1,
  HOST_READ: 3, HOST_WRITE: 4, HOST_PIN: 2, HOST_UNPIN: 2, CLOSE: 2,
  KVM_TDX_INIT_VM: 1, KVM_TDX_INIT_VCPU: 2, KVM_TDX_INIT_MEM_REGION: 6, KVM_TDX_FINALIZE_VM: 3,
  KVM_PRE_FAULT_MEMORY: 6, GUEST_ACCESS: 8, GUEST_ACCEPT: 6,
};

const flagsOf = (names: Record<string, bigint>): fc.Arbitrary<bigint> => fc.oneof(
  w(10, fc.subarray(Object.values(names), { maxLength: 2 }).map((bs) => bs.reduce((a, b) => a | b, 0n))),
  w(1, fc.constantFrom(1n << 7n, 1n << 40n)),
);

const gmemSize = fc.oneof(w(6, fc.constantFrom(0x200000n, 0x400000n, 0x1000n, 0x40000000n)), w(1, fc.constantFrom(0n, 0x1001n, 1n << 63n)));

/** Argument generators per call; keys not listed here fall back to their type. */
function argsFor(op: Op): fc.Arbitrary<Record<string, AVal>> {
  const r = (o: Record<string, fc.Arbitrary<AVal>>) => fc.record(o);
  switch (op) {
    case 'KVM_CREATE_VM': return r({ type: fc.constantFrom(5n, 5n, 1n, 0n, 3n).map(aint) });
    case 'KVM_CREATE_VCPU': return r({ id: fc.constantFrom(0n, 1n, 2n, 4096n).map(aint) });
    case 'KVM_CREATE_GUEST_MEMFD': return r({ size: v.int(gmemSize), flags: v.int(flagsOf(GMEM_FLAGS)) });
    case 'KVM_SET_USER_MEMORY_REGION2': return r({
      slot: fc.constantFrom(0n, 0n, 1n, 2n, 32764n).map(aint),
      flags: v.int(fc.oneof(w(6, fc.constant(MEMSLOT_FLAGS.GUEST_MEMFD)), w(3, fc.constantFrom(0n, MEMSLOT_FLAGS.LOG_DIRTY_PAGES)), w(1, flagsOf(MEMSLOT_FLAGS)))),
      gpa: v.int(fc.oneof(w(4, fc.constantFrom(0n, 0x200000n, 0x400000n)), w(1, v.gpa))),
      size: v.int(fc.oneof(w(4, fc.constantFrom(0x200000n, 0x400000n, 0n)), w(1, v.size))),
      uaddr: fc.oneof(w(3, fc.constant(aint(0))), w(2, v.addr)),
      gmem: fc.oneof(w(6, pick.map((p): AVal => ({ k: 'gmem', pick: p }))), w(1, fc.constantFrom(-1n, 3n).map(aint))),
      offset: v.int(v.offset),
    });
    case 'KVM_SET_MEMORY_ATTRIBUTES': return r({ gpa: v.int(v.gpa), size: v.int(v.size), attributes: v.int(fc.oneof(w(8, fc.constantFrom(0n, ATTR_FLAGS.PRIVATE)), w(1, fc.constant(1n)))), flags: v.int(v.smallFlag) });
    case 'KVM_SET_MEMORY_ATTRIBUTES2': return r({ offset: v.int(v.offset), size: v.int(v.size), attributes: v.int(fc.oneof(w(8, fc.constantFrom(0n, ATTR_FLAGS.PRIVATE)), w(1, fc.constant(1n)))), flags: v.int(v.smallFlag) });
    case 'FALLOCATE': return r({
      mode: v.int(fc.oneof(w(6, fc.constantFrom(FALLOC_FLAGS.KEEP_SIZE | FALLOC_FLAGS.PUNCH_HOLE, FALLOC_FLAGS.KEEP_SIZE)), w(1, flagsOf(FALLOC_FLAGS)))),
      // Whole files now and then, so a punch covers every slot bound to the file.
      offset: v.int(v.offset), len: v.int(fc.oneof(w(4, v.size), w(1, fc.constantFrom(0x400000n, 0x40000000n)))),
    });
    case 'MMAP': return r({ offset: v.int(v.offset), size: v.int(fc.oneof(w(4, fc.constantFrom(0x200000n, 0x4000n)), w(1, v.size))), shared: fc.constantFrom(1n, 1n, 1n, 0n).map(aint) });
    case 'MMAP_ANON': return r({ size: v.int(fc.oneof(w(8, fc.constantFrom(0x1000n, 0x4000n, 0n)), w(1, fc.constantFrom(1n << 47n, (1n << 64n) - 1n)))) });
    case 'HOST_READ': case 'HOST_PIN': case 'HOST_UNPIN': return r({ offset: v.int(v.offset) });
    case 'HOST_WRITE': return r({ offset: v.int(v.offset), byte: v.int(v.byte) });
    case 'KVM_TDX_INIT_VM': case 'KVM_TDX_INIT_VCPU': case 'KVM_TDX_FINALIZE_VM':
      // Unknown flags one time in twelve (fc.option's `freq` is the odds of
      // its nil, so the flags go in the option's nil place), else none.
      return fc.option(fc.constant({}), { freq: 12, nil: { flags: aint(1n) } });
    case 'KVM_TDX_INIT_MEM_REGION': return r({ source: v.addr, gpa: v.int(v.gpa), nr_pages: v.int(v.nrPages), flags: v.int(fc.oneof(w(8, fc.constantFrom(0n, 1n)), w(1, fc.constant(2n)))) });
    case 'KVM_PRE_FAULT_MEMORY': return r({ gpa: v.int(v.gpa), size: v.int(v.size), flags: v.int(v.smallFlag) });
    case 'GUEST_ACCESS': return fc.record({ gpa: v.gpa, private: fc.constantFrom(1n, 1n, 0n), write: fc.boolean(), byte: v.byte }).map((x) => ({
      gpa: aint(x.gpa), private: aint(x.private), write: aint(x.write ? 1n : 0n), ...(x.write ? { byte: aint(x.byte) } : {}),
    }));
    case 'GUEST_ACCEPT': return r({ gpa: v.int(v.gpa), level: fc.constantFrom(0n, 0n, 1n).map(aint) });
    case 'MUNMAP': case 'CLOSE': return fc.constant({});
    // A new call fails to compile here until it has its generator.
    default: return op satisfies never;
  }
}

const CALL_ARBS = Object.fromEntries(CALL_NAMES.map((op) => [op, fc.record({
  picks: fc.array(pick, { minLength: CALLS[op].handles.length, maxLength: CALLS[op].handles.length }),
  args: argsFor(op),
  // A BUSY injected at one of the first six SEAMCALLs on nine calls in ten
  // (fc.option's `freq` is the odds of its nil): most upstream TDX bugs live
  // in the paths that handle a failed SEAMCALL, and a call that issues fewer
  // SEAMCALLs than N runs clean.
  busy: fc.option(fc.integer({ min: 1, max: 6 }), { freq: 10, nil: undefined }),
}).map((r): ACall => ({ op, picks: r.picks, args: r.args, ...(r.busy !== undefined ? { busy: r.busy } : {}) }))])) as Record<Op, fc.Arbitrary<ACall>>;

/** A guest read or write on vCPU pick `cpu`. */
const guestRead = (cpu: number, gpa: AVal, priv: bigint): ACall => ({ op: 'GUEST_ACCESS', picks: [cpu], args: { gpa, private: aint(priv), write: aint(0) } });
const guestWrite = (cpu: number, gpa: AVal, priv: bigint, byte: bigint): ACall => ({ op: 'GUEST_ACCESS', picks: [cpu], args: { gpa, private: aint(priv), write: aint(1), byte: aint(byte) } });
/** The vCPU pick of a guest-side call. */
const cpuOf = (c: ACall): number => c.picks[0] ?? 0;

/**
 * A conversion of [start, start + size) to `attributes`: through the first
 * guest_memfd (`start` is a file offset) or through the VM's attributes
 * (`start` is a GPA).
 */
function conversion(viaFile: boolean, start: AVal, size: bigint, attributes = 0n): ACall {
  const range = { size: aint(size), attributes: aint(attributes), flags: aint(0) };
  return viaFile
    ? { op: 'KVM_SET_MEMORY_ATTRIBUTES2', picks: [0], args: { offset: start, ...range } }
    : { op: 'KVM_SET_MEMORY_ATTRIBUTES', picks: [0], args: { gpa: start, ...range } };
}
const hostRead = (pick: number, offset: AVal): ACall => ({ op: 'HOST_READ', picks: [pick], args: { offset } });
const hostWrite = (pick: number, offset: AVal, byte: bigint): ACall => ({ op: 'HOST_WRITE', picks: [pick], args: { offset, byte: aint(byte) } });
/** A shared mapping of [offset, offset + size) of a guest_memfd. */
const mapFile = (pick: number, offset: bigint, size: bigint): ACall => ({ op: 'MMAP', picks: [pick], args: { offset: aint(offset), size: aint(size), shared: aint(1) } });
/** A FALLOCATE of the first guest_memfd: `punch` a hole, else allocate. */
const fallocate = (punch: boolean, offset: AVal, len: bigint): ACall => ({
  op: 'FALLOCATE', picks: [0], args: { mode: aint(FALLOC_FLAGS.KEEP_SIZE | (punch ? FALLOC_FLAGS.PUNCH_HOLE : 0n)), offset, len: aint(len) },
});

/**
 * The read that checks what a content-changing call did, or none: the same
 * GPA for guest-side calls, the same mapping offset for host writes, and for
 * guest_memfd-side calls (punch, allocate, in-place conversion) the file
 * offset read through the guest_memfd mapping the setup makes, or as a GPA.
 */
function readAfter(c: ACall, how: number): ACall | null {
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
function readPastEnd(c: ACall, how: number): ACall | null {
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
function punchUnderMapping(c: ACall, how: number): ACall[] {
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
function pinOutlives(c: ACall, how: number): ACall[] {
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
function moveAfter(c: ACall): ACall[] {
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
function reflag(c: ACall, how: number): ACall {
  const flags = [0n, MEMSLOT_FLAGS.LOG_DIRTY_PAGES, MEMSLOT_FLAGS.GUEST_MEMFD | MEMSLOT_FLAGS.LOG_DIRTY_PAGES][how % 3];
  return { op: c.op, picks: [0], args: { slot: aint(0), flags: aint(flags), gpa: aint(0), size: aint(how % 2 === 0 ? M2 : 2n * M2), uaddr: { k: 'map', pick: 0, off: 0n }, gmem: { k: 'gmem', pick: 0 }, offset: aint(0) } };
}

/**
 * A huge page changed under the guest, after a 2 MiB accept of an aligned
 * range (the first huge page of a slot usually holds 4 KiB leaves from the
 * setup's image and touches, so often the next one). Four shapes:
 * - 0: the last page alone is converted to shared first (or, with bit 4,
 *   punched out of the file), so the range is not uniformly private (or not
 *   wholly in the file): the fault must map 4 KiB and the accept answer a
 *   size mismatch;
 * - 1: the guest writes the last page, every page but that one is converted
 *   to shared, and the guest reads it back: the zap must demote the huge
 *   leaf and keep that page (tdx_sept_split_private_spte()), not take the
 *   whole leaf and what the guest wrote with it;
 * - 2: the guest writes the last page, the huge range is punched out and
 *   pre-faulted again: its new frames (likely the same ones) must all be
 *   zeroed before they are seen, the last included;
 * - 3: the guest writes the second page, that page alone is converted to
 *   shared, and the host maps the huge page of the file and reads it: an
 *   in-place conversion keeps the page, so the host sees what the guest
 *   wrote, not a page prepared (zeroed) again because the huge mapping left
 *   it out of its own preparation.
 * `bits` (five bits of the call's own draws) chooses: the shape (its two
 * low bits), whether a conversion goes through the file (in-place
 * conversion; always for 3, and always where the file owns privacy) or the
 * VM's attributes (bit 2), and whether the
 * accept takes the huge page of its GPA (bits 2 and 3 clear) or, three
 * times in four, the next one (always for 3). Ranges one page short of, or
 * one page at the end of, a huge page are rare among random arguments.
 */
function splitAfter(c: ACall, bits: number, design: BodyDesign): ACall[] {
  const gpa = c.args.gpa?.k === 'int' ? c.args.gpa.v : 0n;
  const base = (gpa & ~(M2 - 1n)) + (bits & 12 ? M2 : 0n);
  const last = base + M2 - K;
  // The shape runs on the first vCPU, the one a setup initializes: the pick
  // that chose the variant would often name a vCPU that cannot run.
  const cpu = 0;
  const variant = bits & 3;
  // Where the file owns privacy the VM's attributes convert nothing, so the conversion always goes through it.
  const convert = (start: bigint, size: bigint, viaFile = design.inPlace || (bits & 4) !== 0): ACall => conversion(viaFile, aint(start), size);
  const accept: ACall = { ...c, picks: [cpu], args: { ...c.args, gpa: aint(base), level: aint(1n) } };
  const read = (gpa: bigint) => guestRead(cpu, aint(gpa), 1n);
  if (variant === 0) return [bits & 16 ? punchRange(last, K) : convert(last, K), accept, read(base)];
  if (variant === 3) {
    // The next huge page: the first one usually holds the setup's 4 KiB leaves.
    const next = (gpa & ~(M2 - 1n)) + M2;
    const second = next + K;
    const write = guestWrite(cpu, aint(second), 1n, 0x5an);
    const map = mapFile(0, next, M2);
    return [{ ...accept, args: { ...accept.args, gpa: aint(next) } }, write, convert(second, K, true), map, hostRead(-1, aint(K))];
  }
  const write = guestWrite(cpu, aint(last), 1n, 0xa5n);
  if (variant === 1) return [accept, write, convert(base, M2 - K), read(last)];
  const punch = punchRange(base, M2);
  const refault: ACall = { op: 'KVM_PRE_FAULT_MEMORY', picks: [cpu], args: { gpa: aint(base), size: aint(M2), flags: aint(0) } };
  return [accept, write, punch, refault];
}

/**
 * A 2 MiB accept after the huge page's history left something for it to
 * undo (designs that map 2 MiB), on the first vCPU, in the second huge
 * page of guest memory (the first one usually holds the setup's 4 KiB
 * leaves, whose S-EPT table rules out a 2 MiB mapping for good). `how` 0:
 * the first 4 MiB of the file (the second huge page's offset in the setup's
 * one-slot and crossed layouts) are made shared, the host maps them and
 * writes the second huge page's sixth page, and they are made private again
 * before the accept; TDG.MEM.PAGE.ACCEPT zeroes every 4 KiB it accepts
 * (tdx.md §3.1), and a page fresh from guest_memfd is zero anyway, so only
 * data left by the shared side shows one it skipped. `how` 1: the sixth page
 * alone is made shared, punched, allocated again (another frame) and made
 * private; the range is then no longer physically contiguous, and must not
 * be mapped at 2 MiB. That one runs in the fifth huge page, which only the
 * setups' 1 GiB files reach, and which the setups' own 2 MiB shapes, in the
 * second, never split (a hole in a 1 GiB folio is refilled page by page,
 * from other frames). The guest reads the sixth page after the accept.
 */
function acceptAfterHistory(how: number, design: BodyDesign): ACall[] {
  const base = how === 0 ? M2 : 4n * M2;
  const page = base + 5n * K;
  const accept: ACall = { op: 'GUEST_ACCEPT', picks: [0], args: { gpa: aint(base), level: aint(1n) } };
  const convert = (start: bigint, size: bigint, attributes: bigint) => conversion(design.inPlace, aint(start), size, attributes);
  const before = how === 0
    ? [
      convert(0n, 2n * M2, 0n),
      mapFile(0, 0n, 2n * M2),
      hostWrite(-1, aint(page), 0x6dn),
      convert(0n, 2n * M2, ATTR_FLAGS.PRIVATE),
    ]
    : [convert(page, K, 0n), punchRange(page, K), fallocate(false, aint(page), K), convert(page, K, ATTR_FLAGS.PRIVATE)];
  // A FINALIZE first: only a running TD accepts, and a quarter of the setups leave the TD INITIALIZED (a finalized one answers EINVAL and stays as it was).
  return [{ op: 'KVM_TDX_FINALIZE_VM', picks: [0], args: {} }, ...before, accept, guestRead(0, aint(page), 1n)];
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
function convertUnderMapping(): ACall[] {
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
function acrossSlots(convert: boolean, how: number, design: BodyDesign): ACall[] {
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
function pinnedConversion(how: number): ACall[] {
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
function mapAcrossEnd(c: ACall, how: number): ACall[] {
  const map = mapFile(c.picks[0] ?? 0, 2n * M2 - K, 2n * K);
  const past = how % 2 === 0 ? hostRead(-1, aint(K)) : hostWrite(-1, aint(K), 0x3en);
  return [map, past, hostRead(-1, aint(0))];
}

/** A punch hole of the first guest_memfd over [offset, offset + len). */
function punchRange(offset: bigint, len: bigint): ACall {
  return fallocate(true, aint(offset), len);
}

/**
 * The same INIT_MEM_REGION again after its first page was converted to
 * shared: a second populate of a page guest_memfd already prepared. G1's
 * kvm_gmem_populate() refuses it as prepared (EEXIST) before it asks about
 * the GFN's privacy (EINVAL); later designs ask about privacy first. The
 * conversion goes through the file (`how` 9) or the VM's attributes (10).
 *
 * Or (`how` 11) a busy populate, its page converted, and a FINALIZE
 * (busyPopulateBefore()).
 */
function repopulateAfter(c: ACall, how: number, design: BodyDesign): ACall[] {
  const gpa = c.args.gpa ?? aint(0);
  const populate: ACall = { op: c.op, picks: c.picks, args: c.args };
  if (how === 11) return busyPopulateBefore({ op: 'KVM_TDX_FINALIZE_VM', picks: [0], args: {} }, c.args.flags, c.picks[0] ?? 0, design);
  const convert = conversion(how % 2 === 1, gpa, K);
  return [populate, convert, populate];
}

/**
 * Before a FINALIZE (`finalize`): a populate of a page of slot 0 past the
 * setup's own populates (pages 0 to 10), which keeps an injected BUSY on its
 * PAGE.ADD, and the conversion of that page. A clean populate of the page
 * before it comes first, so the S-EPT tables are in place and the busy
 * SEAMCALL is the PAGE.ADD itself. G1 maps the page before PAGE.ADD, so the
 * busy ADD leaves it pre-mapped (nr_premapped), the conversion zaps it, and
 * FINALIZE, which G1 refuses while pages are pre-mapped, must then succeed.
 * Random calls seldom zap the one GFN a busy populate left behind before a
 * FINALIZE; most setups finalize, so the shape rides on the body's FINALIZEs.
 * With `retry`, the populate is retried instead of converted: the failed ADD
 * left the page unprepared, so G1 must not refuse it as prepared (EEXIST).
 */
function busyPopulateBefore(finalize: ACall, flags: AVal | undefined, pick: number, design: BodyDesign, retry = false): ACall[] {
  const page = BigInt(12 + (pick % 4)) * K;
  const region = (at: bigint): ACall => ({ op: 'KVM_TDX_INIT_MEM_REGION', picks: [0], args: { source: { k: 'map', pick: 0, off: 0n }, gpa: aint(at), nr_pages: aint(1n), flags: flags ?? aint(0n) } });
  return [region(page - K), { ...region(page), busy: 1 }, retry ? region(page) : conversion(design.inPlace, aint(page), K), finalize];
}

/**
 * A memslot of the VM just created (`vm`) bound to the first guest_memfd,
 * which another VM (the setup's) created: kvm_gmem_bind() must refuse a
 * file whose gmem->kvm is not the VM. Random bindings pick the newest VM
 * and the first file together too seldom for a second VM to get one.
 */
function foreignBinding(vm: ACall): ACall[] {
  const slot: ACall = { op: 'KVM_SET_USER_MEMORY_REGION2', picks: [-1], args: { slot: aint(0), flags: aint(MEMSLOT_FLAGS.GUEST_MEMFD), gpa: aint(0), size: aint(M2), uaddr: aint(0), gmem: { k: 'gmem', pick: 0 }, offset: aint(0) } };
  return [vm, slot];
}

/**
 * A VM whose only references are its fd and one vCPU's (a new VM with a
 * plain memslot on a new anonymous mapping: no guest_memfd, whose file
 * would hold one too), its fd closed between the guest's write and read of
 * a page (from `how`): an open vCPU holds a reference on its VM
 * (kvm_get_kvm() at vCPU creation), so the VM lives on and the guest still
 * reads what it wrote. The VM's fd is the second VM handle, which is the
 * new VM's after a setup. Random CLOSEs seldom take a VM's fd alone while
 * nothing else holds it.
 */
function closeVmUnderVcpu(c: ACall, how: number): ACall[] {
  const gpa = aint(BigInt(how % 4) * K);
  return [
    { op: 'KVM_CREATE_VM', picks: [], args: { type: aint(0) } },
    { op: 'MMAP_ANON', picks: [], args: { size: aint(4n * K) } },
    { op: 'KVM_SET_USER_MEMORY_REGION2', picks: [-1], args: { slot: aint(0), flags: aint(0), gpa: aint(0), size: aint(4n * K), uaddr: { k: 'map', pick: -1, off: 0n }, gmem: aint(-1n), offset: aint(0) } },
    { op: 'KVM_CREATE_VCPU', picks: [-1], args: { id: aint(0) } },
    guestWrite(-1, gpa, 0n, 0x71n),
    { ...c, picks: [1] },
    guestRead(-1, gpa, 0n),
  ];
}

/**
 * Every fd closed, as a process exit would: the CLOSE that drops a VM's
 * last reference tears its TD down (VP.FLUSH, FREEID, the RECLAIMs), and
 * an injected failure on it reaches one of those SEAMCALLs only when it
 * rides on that CLOSE, so each CLOSE carries it (a CLOSE that issues no
 * SEAMCALL ignores it). Random CLOSEs rarely close a VM's every fd.
 */
function closeAll(c: ACall): ACall[] {
  return Array.from({ length: 8 }, (_, i): ACall => ({ ...c, picks: [i] }));
}

const K = 0x1000n;
const U64 = (1n << 64n) - 1n;
const M2 = 0x200000n;
const isHugeAccept = (c: ACall) => c.op === 'GUEST_ACCEPT' && c.args.level?.k === 'int' && c.args.level.v === 1n;

/**
 * The calls a compound shape adds carry no injected BUSY (most random calls
 * do): a shape builds a state step by step, and a SEAMCALL failing on the
 * way would stop it short. A CLOSE of every fd keeps the call's own, which
 * is its point.
 *
 * A call, followed a third of the time by the read of what it changed (and
 * a conversion or punch sometimes by the read just past its end); a memslot
 * call is sometimes a slot moved under a live mapping or the setup's slot
 * with new flags, a 2 MiB accept sometimes a huge leaf split under the
 * guest (where the design maps 2 MiB, a 4 KiB accept sometimes too), an
 * INIT_MEM_REGION sometimes repeated after a conversion or, busy, followed
 * by a conversion of its page and a FINALIZE (a FINALIZE sometimes
 * preceded by the same), a punch sometimes
 * made under a guest mapping through a host mmap, a punch or conversion
 * sometimes made over two slots the guest has just written, a conversion
 * to private sometimes refused by a pin, a private guest access usually
 * preceded by an accept, a pin sometimes outliving its mapping, a CLOSE
 * sometimes every fd closed or the VM's alone under a guest access, an mmap sometimes across the end of the file,
 * a 2 MiB accept (or, where the design maps 2 MiB, a host write) sometimes
 * after data was left in the huge page or one of its pages was replaced
 * (the accept then comes on its own), a conversion to private sometimes of a page a
 * plain memslot reaches through the host's mapping, a new VM sometimes
 * given a memslot on another VM's guest_memfd.
 */
const withRead = (arb: fc.Arbitrary<ACall>, design: BodyDesign): fc.Arbitrary<ACall[]> =>
  fc.tuple(arb, fc.nat(11)).map(([c, how]) => {
    // The huge-page shapes take their bits from `how` and the vCPU pick, so
    // every call draws the same values whatever shape it grows into.
    // Where the design maps 2 MiB, a third of the 4 KiB accepts grow into a huge-page shape too.
    if ((isHugeAccept(c) && how >= 3) || (design.huge && c.op === 'GUEST_ACCEPT' && how >= 8)) return splitAfter(c, (how * 8 + (c.picks[0] ?? 0)) % 32, design);
    if (design.huge && isHugeAccept(c) && how < 2) return acceptAfterHistory(how, design);
    if (design.huge && c.op === 'HOST_WRITE' && how >= 10) return acceptAfterHistory(how % 2, design);
    if (c.op === 'KVM_TDX_INIT_MEM_REGION' && how >= 9) return repopulateAfter(c, how, design);
    if (c.op === 'FALLOCATE' && how >= 10) return punchUnderMapping(c, how);
    // Punches take 6 to 9 (10 and 11 are punchUnderMapping's), conversions 6 and 7 (8 and 9: pinnedConversion).
    const convert = c.op === 'KVM_SET_MEMORY_ATTRIBUTES' || c.op === 'KVM_SET_MEMORY_ATTRIBUTES2';
    if ((c.op === 'FALLOCATE' && how >= 6 && how < 10) || (convert && (how === 6 || how === 7))) return acrossSlots(convert, how + (c.picks[0] ?? 0), design);
    if (c.op === 'KVM_SET_MEMORY_ATTRIBUTES2' && design.inPlace && (how === 8 || how === 9)) return pinnedConversion(how + (c.picks[0] ?? 0));
    if (c.op === 'KVM_SET_MEMORY_ATTRIBUTES2' && design.inPlace && how >= 10) return convertUnderMapping();
    // A guest touches a private page it has accepted, as a guest kernel does,
    // two times in three: a private access to a page still pending kills the
    // TD (SEPT_VE_DISABLE), and the rest of the program then meets a dead VM.
    if (c.op === 'GUEST_ACCESS' && c.args.private?.k === 'int' && c.args.private.v !== 0n && how >= 4) {
      return [{ op: 'GUEST_ACCEPT', picks: c.picks, args: { gpa: c.args.gpa, level: aint(0) } }, c];
    }
    if (c.op === 'KVM_SET_USER_MEMORY_REGION2' && how >= 6 && how < 9) return [reflag(c, how + (c.picks[0] ?? 0))];
    if (c.op === 'HOST_PIN' && how >= 8) return pinOutlives(c, how);
    if (c.op === 'CLOSE' && how >= 9) return closeAll(c);
    if (c.op === 'CLOSE' && how === 8) return closeVmUnderVcpu(c, how + (c.picks[0] ?? 0));
    if (c.op === 'MMAP' && how >= 9) return mapAcrossEnd(c, how);
    if (c.op === 'KVM_CREATE_VM' && how >= 10) return foreignBinding(c);
    if (c.op === 'KVM_TDX_FINALIZE_VM' && how >= 9) return busyPopulateBefore(c, undefined, how, design, how === 9);
    const r = how < 4 ? readAfter(c, how) : how < 6 ? readPastEnd(c, how) : null;
    if (r) return [c, r];
    return c.op === 'KVM_SET_USER_MEMORY_REGION2' && how < 6 ? moveAfter(c) : [c];
  });

/** What of the design the body's shapes depend on: who owns privacy, and whether KVM maps 2 MiB. */
export interface BodyDesign {
  inPlace: boolean;
  huge: boolean;
}

/** Each call's arbitrary with its follow-ups, built once: a body is drawn per program, and so was every arbitrary of it. */
const withReads = new Map<string, fc.Arbitrary<ACall[]>>();
function callWithRead(op: Op, design: BodyDesign): fc.Arbitrary<ACall[]> {
  const key = `${op}/${design.inPlace}/${design.huge}`;
  let a = withReads.get(key);
  if (a === undefined) withReads.set(key, (a = withRead(CALL_ARBS[op], design)));
  return a;
}

/** A body of up to `max` calls drawn from the ops the swarm mask enables. */
export function bodyArb(enabled: readonly Op[], max: number, design: BodyDesign): fc.Arbitrary<ACall[]> {
  const ops = enabled.length > 0 ? enabled : CALL_NAMES;
  const one = fc.oneof(...ops.map((op) => w(BODY_WEIGHTS[op], callWithRead(op, design))));
  return fc.array(one, { maxLength: max, size: 'large' }).map((xs) => xs.flat().slice(0, max));
}

/** Swarm testing: each op is in with probability 1/2, and the mask is never empty. */
export const swarmArb: fc.Arbitrary<Op[]> = fc.subarray([...CALL_NAMES], { minLength: 3 });
