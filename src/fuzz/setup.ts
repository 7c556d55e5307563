// The phase that reaches deep states: most programs first build a VM the way
// a VMM does (VM, guest_memfd, memslot, INIT_VM, vCPU, attributes, initial
// image, FINALIZE), with each step present most of the time and its
// parameters varied, so the body that follows runs against a live TD.

import fc from 'fast-check';
import { GMEM_FLAGS } from '../program/calls.js';
import type { ProfileSettings } from '../model/profiles.js';
import { aint, type ACall } from './abstract.js';

const K = 0x1000;
const M2 = 0x200000;
const G1 = 0x40000000;
const PRIVATE = 8;

export interface SetupShape {
  vmType: 'TDX' | 'SW_PROTECTED' | 'DEFAULT';
  gmemFlags: bigint;
  gmemSize: number;
  slotSize: number;
  hostWrites: number[];
  mmapGmem: boolean;
  initVcpu: boolean;
  privateAll: boolean;
  populate: Array<{ page: number; pages: number; measure: boolean; nullSource: boolean }>;
  finalize: boolean;
  secondVcpu: boolean;
}

function gmemChoices(s: ProfileSettings, vmType: SetupShape['vmType']): Array<[bigint, number]> {
  const { MMAP, INIT_SHARED, HUGETLB_2M, HUGETLB_1G } = GMEM_FLAGS;
  const out: Array<[bigint, number]> = [[0n, 2 * M2], [MMAP, 2 * M2]];
  if (vmType === 'DEFAULT' || s.inPlaceConversion) out.push([MMAP | INIT_SHARED, 2 * M2]);
  if (s.hugetlb) out.push([HUGETLB_2M | MMAP, 2 * M2], [HUGETLB_1G | MMAP, G1], [HUGETLB_1G, G1]);
  return out;
}

export function setupShape(s: ProfileSettings): fc.Arbitrary<SetupShape> {
  return fc.constantFrom<SetupShape['vmType']>('TDX', 'TDX', 'TDX', 'TDX', 'TDX', 'TDX', 'SW_PROTECTED', 'DEFAULT').chain((vmType) =>
    fc.record({
      vmType: fc.constant(vmType),
      gmem: fc.constantFrom(...gmemChoices(s, vmType)),
      halfSlot: fc.boolean(),
      hostWrites: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      mmapGmem: fc.boolean(),
      initVcpu: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.9),
      privateAll: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.85),
      populate: fc.array(fc.record({
        page: fc.integer({ min: 0, max: 7 }),
        pages: fc.constantFrom(1, 1, 2, 4),
        measure: fc.boolean(),
        nullSource: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.2),
      }), { maxLength: 3 }),
      finalize: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.75),
      secondVcpu: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.15),
    }).map((r): SetupShape => ({
      vmType: r.vmType, gmemFlags: r.gmem[0], gmemSize: r.gmem[1],
      slotSize: r.gmem[1] === G1 ? G1 : r.halfSlot ? M2 : r.gmem[1],
      hostWrites: r.hostWrites, mmapGmem: r.mmapGmem && (r.gmem[0] & GMEM_FLAGS.MMAP) !== 0n,
      initVcpu: r.initVcpu, privateAll: r.privateAll, populate: r.populate, finalize: r.finalize, secondVcpu: r.secondVcpu,
    })),
  );
}

const call = (op: string, picks: number[], args: Record<string, bigint | number | ReturnType<typeof aint>>): ACall => ({
  op, picks,
  args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, typeof v === 'object' ? v : aint(v)])),
});

/** The calls of a setup shape, in the order a VMM issues them. */
export function setupCalls(shape: SetupShape, s: ProfileSettings): ACall[] {
  const out: ACall[] = [];
  const tdx = shape.vmType === 'TDX';
  out.push(call('KVM_CREATE_VM', [], { type: { TDX: 5, SW_PROTECTED: 1, DEFAULT: 0 }[shape.vmType] }));
  out.push(call('KVM_CREATE_GUEST_MEMFD', [0], { size: shape.gmemSize, flags: shape.gmemFlags }));
  out.push(call('MMAP_ANON', [], { size: 4 * K }));
  for (const p of shape.hostWrites) out.push(call('HOST_WRITE', [0], { offset: p * K, byte: 0xa0 + p }));
  if (shape.mmapGmem) out.push(call('MMAP', [0], { offset: 0, size: shape.gmemSize, shared: 1 }));
  out.push(call('KVM_SET_USER_MEMORY_REGION2', [0], {
    slot: 0, flags: 4, gpa: 0, size: shape.slotSize, uaddr: { k: 'map', pick: 0, off: 0n }, gmem: { k: 'gmem', pick: 0 }, offset: 0,
  }));
  if (tdx) out.push(call('KVM_TDX_INIT_VM', [0], {}));
  out.push(call('KVM_CREATE_VCPU', [0], { id: 0 }));
  if (tdx && shape.initVcpu) out.push(call('KVM_TDX_INIT_VCPU', [0], {}));
  if (shape.secondVcpu) out.push(call('KVM_CREATE_VCPU', [0], { id: 1 }));
  if (shape.privateAll && shape.vmType !== 'DEFAULT') {
    if (s.inPlaceConversion) {
      if (shape.gmemFlags & GMEM_FLAGS.INIT_SHARED) {
        out.push(call('KVM_SET_MEMORY_ATTRIBUTES2', [0], { offset: 0, size: shape.slotSize, attributes: PRIVATE, flags: 0 }));
      }
    } else {
      out.push(call('KVM_SET_MEMORY_ATTRIBUTES', [0], { gpa: 0, size: shape.slotSize, attributes: PRIVATE, flags: 0 }));
    }
  }
  if (tdx) {
    for (const p of shape.populate) {
      const source = p.nullSource ? aint(0) : { k: 'map' as const, pick: 0, off: BigInt(p.page % 4) * BigInt(K) };
      out.push(call('KVM_TDX_INIT_MEM_REGION', [0], { source, gpa: p.page * K, nr_pages: p.pages, flags: p.measure ? 1 : 0 }));
    }
    if (shape.finalize) out.push(call('KVM_TDX_FINALIZE_VM', [0], {}));
  }
  return out;
}
