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
    case 'MMAP_ANON': return r({ size: v.int(fc.constantFrom(0x1000n, 0x4000n, 0n)) });
    case 'HOST_READ': case 'HOST_PIN': case 'HOST_UNPIN': return r({ offset: v.int(v.offset) });
    case 'HOST_WRITE': return r({ offset: v.int(v.offset), byte: v.int(v.byte) });
    case 'KVM_TDX_INIT_VM': case 'KVM_TDX_INIT_VCPU': case 'KVM_TDX_FINALIZE_VM':
      return fc.option(v.int(fc.constantFrom(1n)), { freq: 12, nil: undefined }).map((f): Record<string, AVal> => (f ? { flags: f } : {}));
    case 'KVM_TDX_INIT_MEM_REGION': return r({ source: v.addr, gpa: v.int(v.gpa), nr_pages: v.int(v.nrPages), flags: v.int(fc.oneof(w(8, fc.constantFrom(0n, 1n)), w(1, fc.constant(2n)))) });
    case 'KVM_PRE_FAULT_MEMORY': return r({ gpa: v.int(v.gpa), size: v.int(v.size), flags: v.int(v.smallFlag) });
    case 'GUEST_ACCESS': return fc.record({ gpa: v.gpa, private: fc.constantFrom(1n, 1n, 0n), write: fc.boolean(), byte: v.byte }).map((x) => ({
      gpa: aint(x.gpa), private: aint(x.private), write: aint(x.write ? 1n : 0n), ...(x.write ? { byte: aint(x.byte) } : {}),
    }));
    case 'GUEST_ACCEPT': return r({ gpa: v.int(v.gpa), level: fc.constantFrom(0n, 0n, 0n, 1n).map(aint) });
    case 'MUNMAP': case 'CLOSE': return fc.constant({});
    // A new call fails to compile here until it has its generator.
    default: return op satisfies never;
  }
}

const CALL_ARBS = Object.fromEntries(CALL_NAMES.map((op) => [op, fc.record({
  picks: fc.array(pick, { minLength: CALLS[op].handles.length, maxLength: CALLS[op].handles.length }),
  args: argsFor(op),
  busy: fc.option(fc.integer({ min: 1, max: 6 }), { freq: 10, nil: undefined }),
}).map((r): ACall => ({ op, picks: r.picks, args: r.args, ...(r.busy !== undefined ? { busy: r.busy } : {}) }))])) as Record<Op, fc.Arbitrary<ACall>>;

const guestRead = (c: ACall, gpa: AVal, priv: bigint): ACall => ({ op: 'GUEST_ACCESS', picks: [c.picks[0] ?? 0], args: { gpa, private: aint(priv), write: aint(0) } });
const hostRead = (pick: number, offset: AVal): ACall => ({ op: 'HOST_READ', picks: [pick], args: { offset } });

/**
 * The read that checks what a content-changing call did, or none: the same
 * GPA for guest-side calls, the same mapping offset for host writes, and for
 * guest_memfd-side calls (punch, allocate, in-place conversion) the file
 * offset read through the guest_memfd mapping the setup makes, or as a GPA.
 */
function readAfter(c: ACall, how: number): ACall | null {
  const a = c.args;
  switch (c.op) {
    case 'GUEST_ACCESS': return a.write?.k === 'int' && a.write.v !== 0n ? guestRead(c, a.gpa, a.private.k === 'int' ? a.private.v : 1n) : null;
    case 'GUEST_ACCEPT': case 'KVM_TDX_INIT_MEM_REGION': return guestRead(c, a.gpa, 1n);
    case 'KVM_SET_MEMORY_ATTRIBUTES': return guestRead(c, a.gpa, a.attributes.k === 'int' && a.attributes.v !== 0n ? 1n : 0n);
    case 'HOST_WRITE': return hostRead(c.picks[0] ?? 0, a.offset);
    case 'FALLOCATE': case 'KVM_SET_MEMORY_ATTRIBUTES2': return how % 2 === 0 ? hostRead(1, a.offset) : guestRead({ ...c, picks: [how] }, a.offset, BigInt(how % 3 === 0 ? 0 : 1));
    case 'MUNMAP': return how % 2 === 0 ? hostRead(c.picks[0] ?? 0, aint(0)) : guestRead({ ...c, picks: [how] }, aint(BigInt(how % 4) * 0x1000n), 0n);
    default: return null;
  }
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
  const write: ACall = { op: 'GUEST_ACCESS', picks: [c.picks[0] ?? 0], args: { gpa, private: aint(0), write: aint(1), byte: aint(0x5an) } };
  const move: ACall = { ...slot, args: { ...slot.args, gpa: aint(0x800000n + size) } };
  return [slot, write, move, guestRead(c, gpa, 0n)];
}

/**
 * A huge page changed under the guest, after a 2 MiB accept of an aligned
 * range (the first huge page of a slot usually holds 4 KiB leaves from the
 * setup's image and touches, so often the next one). By `how % 3`:
 * - 0: the last page alone is converted to shared first, so the range is not
 *   uniformly private: the fault must map 4 KiB and the accept answer a size
 *   mismatch;
 * - 1: the guest writes the last page, every page but that one is converted
 *   to shared, and the guest reads it back: the zap must demote the huge
 *   leaf and keep that page (tdx_sept_split_private_spte()), not take the
 *   whole leaf and what the guest wrote with it;
 * - 2: the guest writes the last page, the huge range is punched out and
 *   pre-faulted again: its new frames (likely the same ones) must all be
 *   zeroed before they are seen, the last included.
 * Conversions go through the file (`how` odd, in-place conversion) or the
 * VM's attributes. Ranges one page short of, or one page at the end of, a
 * huge page are rare among random arguments.
 */
function splitAfter(c: ACall, how: number): ACall[] {
  const gpa = c.args.gpa?.k === 'int' ? c.args.gpa.v : 0n;
  const base = (gpa & ~(M2 - 1n)) + (how >= 7 ? M2 : 0n);
  const last = base + M2 - K;
  const cpu = c.picks[0] ?? 0;
  const convert = (start: bigint, size: bigint): ACall => {
    const range = { size: aint(size), attributes: aint(0), flags: aint(0) };
    return how % 2 === 1
      ? { op: 'KVM_SET_MEMORY_ATTRIBUTES2', picks: [0], args: { offset: aint(start), ...range } }
      : { op: 'KVM_SET_MEMORY_ATTRIBUTES', picks: [0], args: { gpa: aint(start), ...range } };
  };
  const accept: ACall = { ...c, args: { ...c.args, gpa: aint(base) } };
  if (how % 3 === 0) return [convert(last, K), accept, guestRead(c, aint(base), 1n)];
  const write: ACall = { op: 'GUEST_ACCESS', picks: [cpu], args: { gpa: aint(last), private: aint(1), write: aint(1), byte: aint(0xa5n) } };
  if (how % 3 === 1) return [accept, write, convert(base, M2 - K), guestRead(c, aint(last), 1n)];
  const punch: ACall = { op: 'FALLOCATE', picks: [0], args: { mode: aint(FALLOC_FLAGS.KEEP_SIZE | FALLOC_FLAGS.PUNCH_HOLE), offset: aint(base), len: aint(M2) } };
  const refault: ACall = { op: 'KVM_PRE_FAULT_MEMORY', picks: [cpu], args: { gpa: aint(base), size: aint(M2), flags: aint(0) } };
  return [accept, write, punch, refault];
}

/**
 * The same INIT_MEM_REGION again after its first page was converted to
 * shared: a second populate of a page guest_memfd already prepared. G1's
 * kvm_gmem_populate() refuses it as prepared (EEXIST) before it asks about
 * the GFN's privacy (EINVAL); later designs ask about privacy first. The
 * conversion goes through the file (`how` odd) or the VM's attributes.
 */
function repopulateAfter(c: ACall, how: number): ACall[] {
  const gpa = c.args.gpa ?? aint(0);
  const range = { size: aint(K), attributes: aint(0), flags: aint(0) };
  const convert: ACall = how % 2 === 1
    ? { op: 'KVM_SET_MEMORY_ATTRIBUTES2', picks: [0], args: { offset: gpa, ...range } }
    : { op: 'KVM_SET_MEMORY_ATTRIBUTES', picks: [0], args: { gpa, ...range } };
  return [c, convert, c];
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
const M2 = 0x200000n;
const isHugeAccept = (c: ACall) => c.op === 'GUEST_ACCEPT' && c.args.level?.k === 'int' && c.args.level.v === 1n;

/** A call, followed a third of the time by the read of what it changed; a memslot call is sometimes a slot moved under a live mapping, a 2 MiB accept sometimes a huge leaf split under the guest, an INIT_MEM_REGION sometimes repeated after a conversion, a CLOSE sometimes every fd closed. */
const withRead = (arb: fc.Arbitrary<ACall>): fc.Arbitrary<ACall[]> =>
  fc.tuple(arb, fc.nat(11)).map(([c, how]) => {
    if (isHugeAccept(c) && how >= 3) return splitAfter(c, how);
    if (c.op === 'KVM_TDX_INIT_MEM_REGION' && how >= 9) return repopulateAfter(c, how);
    if (c.op === 'CLOSE' && how >= 9) return closeAll(c);
    const r = how < 4 ? readAfter(c, how) : null;
    if (r) return [c, r];
    return c.op === 'KVM_SET_USER_MEMORY_REGION2' && how < 6 ? moveAfter(c) : [c];
  });

/** A body of up to `max` calls drawn from the ops the swarm mask enables. */
export function bodyArb(enabled: readonly Op[], max: number): fc.Arbitrary<ACall[]> {
  const ops = enabled.length > 0 ? enabled : CALL_NAMES;
  const one = fc.oneof(...ops.map((op) => w(BODY_WEIGHTS[op], withRead(CALL_ARBS[op]))));
  return fc.array(one, { maxLength: max, size: 'large' }).map((xs) => xs.flat().slice(0, max));
}

/** Swarm testing: each op is in with probability 1/2, and the mask is never empty. */
export const swarmArb: fc.Arbitrary<Op[]> = fc.subarray([...CALL_NAMES], { minLength: 3 });
