// The phase that reaches deep states: most programs first build a VM the way
// a VMM does (VM, guest_memfd, memslots, INIT_VM, vCPU, attributes, initial
// image, FINALIZE), with each step present most of the time and its
// parameters varied, so the body that follows runs against a live TD. The
// memory layout varies too: one slot at offset 0, one slot at a non-zero
// guest_memfd offset, two slots crossed over one guest_memfd (each GFN at a
// different index), or two slots on two guest_memfds, so that index
// arithmetic and invalidations over several slots are exercised.

import fc from 'fast-check';
import { GMEM_FLAGS, type Op } from '../program/calls.js';
import type { ProfileSettings } from '../model/profiles.js';
import { aint, type ACall } from './abstract.js';
import { chance } from './values.js';

const K = 0x1000;
const M2 = 0x200000;
const G1 = 0x40000000;
const PRIVATE = 8;

/**
 * How guest memory is laid out, with H half the guest_memfd size:
 * `one`: slot 0 at GPA 0 on offset 0 (the slot may be half the file);
 * `offset`: slot 0 at GPA 0, H long, on a non-zero offset;
 * `crossed`: slot 0 at GPA 0 on offset H and slot 1 at GPA H on offset 0 of the same file;
 * `two-files`: slot 0 at GPA 0 on offset H of g0 and slot 1 at GPA H on offset 0 of g1.
 * Slot 1's userspace_addr is two pages into slot 0's, so one munmap covers both.
 */
export type Layout = 'one' | 'offset' | 'crossed' | 'two-files';

export interface SetupShape {
  vmType: 'TDX' | 'SW_PROTECTED' | 'DEFAULT';
  layout: Layout;
  /** Offset of slot 0 in its guest_memfd, in pages (layout `offset`). */
  offsetPages: number;
  gmemFlags: bigint;
  gmemSize: number;
  slotSize: number;
  hostWrites: number[];
  mmapGmem: boolean;
  initVcpu: boolean;
  privateAll: boolean;
  populate: Array<{ page: number; pages: number; measure: boolean; nullSource: boolean; slot: 0 | 1 }>;
  /**
   * FINALIZE after the populate. With vCPU 0 left uninitialised, TDH.MR.FINALIZE
   * fails and the VM is bugged (tdx.md: a listed cause), and every later call
   * of the program meets a dead VM; so that case keeps it one time in five,
   * and otherwise leaves the TD INITIALIZED for the body to carry on.
   */
  finalize: boolean;
  secondVcpu: boolean;
  /** Create vCPU 0 a second time: right after the first (TD INITIALIZED) or at the end (RUNNABLE once finalized). */
  dupVcpu: 'none' | 'early' | 'late';
  /** Guest accesses once the guest runs (a private page of a TD is accepted first), so later slots have live mappings. */
  touch: Array<{ slot: 0 | 1; page: number; write: boolean }>;
  /**
   * Designs that map 2 MiB (hugepage profiles) only: once the TD runs, the
   * second huge page of guest memory is accepted at 2 MiB and one of its pages
   * written (`accept`), or pre-faulted at 2 MiB and left pending
   * (`prefault`), before any 4 KiB touch can break it up; or its last page
   * is converted to shared first and then the huge page accepted at 2 MiB
   * (`mixed`), which KVM must map at 4 KiB, as the range is not uniformly
   * private (with `hugeWrite` 0: its first page, and the rest pre-faulted
   * from the second page on). The populate and the touches then stay in
   * slot 0's first huge page. Random arguments rarely leave a huge page
   * untouched until a 2 MiB accept comes.
   */
  huge: 'none' | 'accept' | 'prefault' | 'mixed';
  /** The page of the huge page the guest writes after a 2 MiB accept. */
  hugeWrite: number;
  /**
   * The TD's guest physical address width (KVM_TDX_INIT_VM's gpaw): 52 now
   * and then, which gives the TD a 5-level S-EPT and moves its shared bit
   * to GPA bit 51 (TDH.MNG.INIT's MAX_GPAW); 48 otherwise.
   */
  gpaw: 48 | 52;
}

function gmemChoices(s: ProfileSettings, vmType: SetupShape['vmType']): Array<[bigint, number]> {
  const { MMAP, INIT_SHARED, HUGETLB_2M, HUGETLB_1G } = GMEM_FLAGS;
  const out: Array<[bigint, number]> = [[0n, 2 * M2], [MMAP, 2 * M2]];
  if (vmType === 'DEFAULT' || s.inPlaceConversion) out.push([MMAP | INIT_SHARED, 2 * M2]);
  // Twice over: huge mappings, what a hugepage design is about, need a HugeTLB
  // file. 2 MiB folios most: a punched 2 MiB range of one comes back as a
  // whole folio that can be mapped at 2 MiB again, where a hole punched in a
  // 1 GiB folio is refilled page by page.
  if (s.hugetlb) for (let i = 0; i < 2; i++) out.push([HUGETLB_2M | MMAP, 2 * M2], [HUGETLB_2M, 2 * M2], [HUGETLB_1G | MMAP, G1], [HUGETLB_1G, G1]);
  return out;
}

export function setupShape(s: ProfileSettings): fc.Arbitrary<SetupShape> {
  return fc.constantFrom<SetupShape['vmType']>('TDX', 'TDX', 'TDX', 'TDX', 'TDX', 'TDX', 'SW_PROTECTED', 'DEFAULT').chain((vmType) =>
    fc.record({
      vmType: fc.constant(vmType),
      layout: fc.constantFrom<Layout>('one', 'one', 'one', 'one', 'offset', 'offset', 'crossed', 'crossed', 'two-files', 'two-files'),
      offsetPages: fc.constantFrom(1, 2, 3, 512),
      gmem: fc.constantFrom(...gmemChoices(s, vmType)),
      halfSlot: fc.boolean(),
      hostWrites: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      mmapGmem: fc.boolean(),
      initVcpu: chance(0.9),
      privateAll: chance(0.85),
      populate: fc.array(fc.record({
        page: fc.integer({ min: 0, max: 7 }),
        pages: fc.constantFrom(1, 1, 2, 4),
        measure: fc.boolean(),
        nullSource: chance(0.2),
        slot: fc.constantFrom<0 | 1>(0, 0, 1),
      }), { maxLength: 3 }),
      finalize: chance(0.75),
      finalizeUninit: chance(0.2),
      secondVcpu: chance(0.15),
      dupVcpu: fc.constantFrom<SetupShape['dupVcpu']>('none', 'none', 'none', 'none', 'none', 'none', 'none', 'none', 'early', 'late'),
      touch: fc.array(fc.record({ slot: fc.constantFrom<0 | 1>(0, 1, 1), page: fc.integer({ min: 0, max: 3 }), write: fc.boolean() }), { maxLength: 2 }),
      // Drawn only where 2 MiB mappings exist, so the other profiles' programs stay as they were.
      huge: s.hugeMappings && vmType === 'TDX' ? fc.constantFrom<SetupShape['huge']>('none', 'none', 'accept', 'prefault', 'mixed') : fc.constant<SetupShape['huge']>('none'),
      hugeWrite: s.hugeMappings && vmType === 'TDX' ? fc.constantFrom(0, 1, 511) : fc.constant(0),
      gpaw: vmType === 'TDX' ? fc.constantFrom<48 | 52>(48, 48, 48, 48, 52) : fc.constant<48 | 52>(48),
    }).map((r): SetupShape => ({
      gpaw: r.gpaw,
      touch: r.touch, huge: r.huge, hugeWrite: r.hugeWrite,
      vmType: r.vmType, layout: r.layout, offsetPages: r.offsetPages, dupVcpu: r.dupVcpu, gmemFlags: r.gmem[0], gmemSize: r.gmem[1],
      slotSize: r.gmem[1] === G1 ? G1 : r.halfSlot ? M2 : r.gmem[1],
      hostWrites: r.hostWrites, mmapGmem: r.mmapGmem && (r.gmem[0] & GMEM_FLAGS.MMAP) !== 0n,
      initVcpu: r.initVcpu, privateAll: r.privateAll, populate: r.populate, finalize: r.finalize && (r.initVcpu || r.finalizeUninit), secondVcpu: r.secondVcpu,
    })),
  );
}

const call = (op: Op, picks: number[], args: Record<string, bigint | number | ReturnType<typeof aint>>): ACall => ({
  op, picks,
  args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, typeof v === 'object' ? v : aint(v)])),
});

/** The memslots of a layout: GPA, size, which guest_memfd (0 or 1), offset, and uaddr page. */
export function layoutSlots(shape: SetupShape): Array<{ gpa: number; size: number; gmem: 0 | 1; offset: number; uaddrPage: number }> {
  const half = shape.gmemSize / 2;
  switch (shape.layout) {
    case 'one': return [{ gpa: 0, size: shape.slotSize, gmem: 0, offset: 0, uaddrPage: 0 }];
    case 'offset': return [{ gpa: 0, size: half, gmem: 0, offset: Math.min(shape.offsetPages * K, half), uaddrPage: 0 }];
    case 'crossed': return [{ gpa: 0, size: half, gmem: 0, offset: half, uaddrPage: 0 }, { gpa: half, size: half, gmem: 0, offset: 0, uaddrPage: 2 }];
    case 'two-files': return [{ gpa: 0, size: half, gmem: 0, offset: half, uaddrPage: 0 }, { gpa: half, size: half, gmem: 1, offset: 0, uaddrPage: 2 }];
  }
}

/**
 * Convert the page at `gpa` to shared: through the file that backs it where
 * the file owns privacy (at the offset the layout binds it to), else
 * through the VM's attributes.
 */
function toShared(shape: SetupShape, s: ProfileSettings, gpa: number): ACall {
  const range = { size: K, attributes: 0, flags: 0 };
  if (!s.inPlaceConversion) return call('KVM_SET_MEMORY_ATTRIBUTES', [0], { gpa, ...range });
  const slot = layoutSlots(shape).find((x) => x.gpa <= gpa && gpa < x.gpa + x.size) ?? { gpa: 0, gmem: 0, offset: 0 };
  return call('KVM_SET_MEMORY_ATTRIBUTES2', [slot.gmem], { offset: slot.offset + (gpa - slot.gpa), ...range });
}

/** The calls of a setup shape, in the order a VMM issues them. */
export function setupCalls(shape: SetupShape, s: ProfileSettings): ACall[] {
  const out: ACall[] = [];
  const tdx = shape.vmType === 'TDX';
  const slots = layoutSlots(shape);
  const files = shape.layout === 'two-files' ? 2 : 1;
  const span = Math.max(...slots.map((x) => x.gpa + x.size));
  out.push(call('KVM_CREATE_VM', [], { type: { TDX: 5, SW_PROTECTED: 1, DEFAULT: 0 }[shape.vmType] }));
  for (let f = 0; f < files; f++) out.push(call('KVM_CREATE_GUEST_MEMFD', [0], { size: shape.gmemSize, flags: shape.gmemFlags }));
  out.push(call('MMAP_ANON', [], { size: 4 * K }));
  for (const p of shape.hostWrites) out.push(call('HOST_WRITE', [0], { offset: p * K, byte: 0xa0 + p }));
  if (shape.mmapGmem) out.push(call('MMAP', [0], { offset: 0, size: shape.gmemSize, shared: 1 }));
  slots.forEach((x, i) => out.push(call('KVM_SET_USER_MEMORY_REGION2', [0], {
    slot: i, flags: 4, gpa: x.gpa, size: x.size, uaddr: { k: 'map', pick: 0, off: BigInt(x.uaddrPage * K) }, gmem: { k: 'gmem', pick: x.gmem }, offset: x.offset,
  })));
  if (tdx) out.push(call('KVM_TDX_INIT_VM', [0], shape.gpaw === 52 ? { gpaw: 52 } : {}));
  out.push(call('KVM_CREATE_VCPU', [0], { id: 0 }));
  if (shape.dupVcpu === 'early') out.push(call('KVM_CREATE_VCPU', [0], { id: 0 }));
  if (tdx && shape.initVcpu) out.push(call('KVM_TDX_INIT_VCPU', [0], {}));
  if (shape.secondVcpu) out.push(call('KVM_CREATE_VCPU', [0], { id: 1 }));
  if (shape.privateAll && shape.vmType !== 'DEFAULT') {
    if (s.inPlaceConversion) {
      if (shape.gmemFlags & GMEM_FLAGS.INIT_SHARED) {
        for (let f = 0; f < files; f++) {
          out.push(call('KVM_SET_MEMORY_ATTRIBUTES2', [f], { offset: 0, size: files === 1 && shape.layout === 'one' ? shape.slotSize : shape.gmemSize, attributes: PRIVATE, flags: 0 }));
        }
      }
    } else {
      out.push(call('KVM_SET_MEMORY_ATTRIBUTES', [0], { gpa: 0, size: span, attributes: PRIVATE, flags: 0 }));
    }
  }
  const huge = tdx && shape.huge !== 'none';
  // With a huge page to keep whole, the 4 KiB populate and touches stay in slot 0's first huge page.
  const slotOf = (slot: 0 | 1): 0 | 1 => (huge ? 0 : slot);
  if (tdx) {
    for (const p of shape.populate) {
      const source = p.nullSource ? aint(0) : { k: 'map' as const, pick: 0, off: BigInt(p.page % 4) * BigInt(K) };
      const base = slots[slotOf(p.slot)]?.gpa ?? 0;
      out.push(call('KVM_TDX_INIT_MEM_REGION', [0], { source, gpa: base + p.page * K, nr_pages: p.pages, flags: p.measure ? 1 : 0 }));
    }
    if (shape.finalize) out.push(call('KVM_TDX_FINALIZE_VM', [0], {}));
  }
  if (!tdx || shape.finalize) {
    const priv = shape.privateAll && shape.vmType !== 'DEFAULT' ? 1 : 0;
    if (huge) {
      // The second huge page of guest memory: past the populated pages, in slot 1
      // for the two-slot layouts of 4 MiB files (whose offset 0 keeps it
      // congruent), and where the body's 2 MiB shapes most often aim.
      const hugeBase = M2;
      if (shape.huge === 'mixed' && shape.hugeWrite === 0) {
        // The first page shared, and the rest pre-faulted from the second page
        // on (KVM maps at the largest level allowed; an accept would cap it at
        // its own): whether the range may be mapped at 2 MiB is a question
        // about its base, not about the faulting GFN.
        out.push(toShared(shape, s, hugeBase), call('KVM_PRE_FAULT_MEMORY', [0], { gpa: hugeBase + K, size: M2 - K, flags: 0 }));
      } else {
        if (shape.huge === 'mixed') out.push(toShared(shape, s, hugeBase + M2 - K));
        if (shape.huge === 'prefault') out.push(call('KVM_PRE_FAULT_MEMORY', [0], { gpa: hugeBase, size: M2, flags: 0 }));
        else out.push(call('GUEST_ACCEPT', [0], { gpa: hugeBase, level: 1 }));
        if (shape.huge === 'accept') out.push(call('GUEST_ACCESS', [0], { gpa: hugeBase + shape.hugeWrite * K, private: 1, write: 1, byte: 0x5c }));
      }
    }
    for (const x of shape.touch) {
      const gpa = (slots[slotOf(x.slot)]?.gpa ?? 0) + x.page * K;
      if (tdx && priv) out.push(call('GUEST_ACCEPT', [0], { gpa, level: 0 }));
      out.push(call('GUEST_ACCESS', [0], { gpa, private: priv, write: x.write ? 1 : 0, ...(x.write ? { byte: 0x50 + x.page } : {}) }));
    }
  }
  if (shape.dupVcpu === 'late') out.push(call('KVM_CREATE_VCPU', [0], { id: 0 }));
  return out;
}
