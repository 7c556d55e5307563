// The body of a program: calls over the whole vocabulary, with swarm testing
// (each program favours a random subset of calls, so rare interleavings get
// whole programs to themselves) and argument generators per key. A call that
// changes memory content is sometimes followed by a read of the place it
// changed, so stale or lost content has a reader.

import fc from 'fast-check';
import { CALL_NAMES, CALLS, GMEM_FLAGS, MEMSLOT_FLAGS, FALLOC_FLAGS, ATTR_FLAGS, type Op } from '../program/calls.js';
import { aint, type ACall, type AVal } from './abstract.js';
import * as v from './values.js';
import type { BodyDesign } from './build.js';
import { acrossSlots, convertUnderMapping, mapAcrossEnd, moveAfter, pinnedConversion, pinOutlives, punchUnderMapping, readAfter, readPastEnd, reflag } from './shapes_mem.js';
import { acceptAfterHistory, isHugeAccept, splitAfter } from './shapes_huge.js';
import { busyPopulateBefore, closeAll, closeVmUnderVcpu, foreignBinding, repopulateAfter } from './shapes_td.js';

export type { BodyDesign } from './build.js';

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

/**
 * The calls a compound shape adds carry no injected BUSY (most random calls
 * do): a shape builds a state step by step, and a SEAMCALL failing on the
 * way would stop it short. A CLOSE of every fd keeps the call's own, which
 * is its point, and a shape about a busy SEAMCALL injects its own.
 *
 * A call, followed a third of the time by the read of what it changed (and
 * a conversion or punch sometimes by the read just past its end). Some
 * calls sometimes grow into a shape instead (shapes_mem.ts, shapes_huge.ts,
 * shapes_td.ts):
 * - a memslot call: a slot moved under a live mapping, or the setup's slot
 *   with new flags;
 * - a 2 MiB accept: a huge leaf split under the guest (where the design
 *   maps 2 MiB, a 4 KiB accept too), or an accept after data was left in
 *   the huge page or one of its pages was replaced (where the design maps
 *   2 MiB, a host write grows into the latter too);
 * - an INIT_MEM_REGION: repeated after a conversion, or made busy and
 *   followed by a conversion of its page and a FINALIZE (which a FINALIZE
 *   sometimes brings with it, or a retry of the busy populate);
 * - a punch: made under a guest mapping through a host mmap, or over two
 *   slots the guest has just written (a conversion too);
 * - a conversion to private: refused by a pin, or of a page a plain memslot
 *   reaches through the host's mapping (in-place designs);
 * - a private guest access: usually preceded by an accept;
 * - a pin: outliving its mapping;
 * - a CLOSE: every fd closed, or a VM's fd alone while its vCPU keeps it
 *   alive between a guest write and read;
 * - an mmap: across the end of the file;
 * - a new VM: given a memslot on another VM's guest_memfd.
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
    if (c.op === 'CLOSE' && how === 8) return closeVmUnderVcpu(how + (c.picks[0] ?? 0));
    if (c.op === 'MMAP' && how >= 9) return mapAcrossEnd(c, how);
    if (c.op === 'KVM_CREATE_VM' && how >= 10) return foreignBinding(c);
    if (c.op === 'KVM_TDX_FINALIZE_VM' && how >= 9) return busyPopulateBefore(c, undefined, how, design, how === 9);
    const r = how < 4 ? readAfter(c, how) : how < 6 ? readPastEnd(c, how) : null;
    if (r) return [c, r];
    return c.op === 'KVM_SET_USER_MEMORY_REGION2' && how < 6 ? moveAfter(c) : [c];
  });


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
