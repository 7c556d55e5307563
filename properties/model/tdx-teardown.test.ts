// SEAMCALL sequences that are the point of a scenario (tdx.md §1.4, §5.2,
// §7.16): TD teardown order, a bugged TD's zaps and teardown, and G1's zap of
// a pre-mapped leaf.

import { describe, expect, test } from 'vitest';
import { driver, PRIVATE, SLOT, VM, type Driver } from './harness.js';
import type { ProfileName } from '../../src/model/profiles.js';
import { isFree } from '../../src/model/host/pfnspace.js';

/** A TD with a 2 MiB private slot, one initialized vCPU and a source page. */
function td(profile: ProfileName = 'upstream') {
  const d = driver(profile);
  const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
  const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x200000, flags: 0 });
  d.call('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 0, flags: SLOT.GUEST_MEMFD, gpa: 0, size: 0x200000, uaddr: 0, gmem: g, offset: 0 });
  expect(d.text('KVM_TDX_INIT_VM', [vm])).toBe('0');
  const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
  expect(d.text('KVM_TDX_INIT_VCPU', [cpu])).toBe('0');
  d.call('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0, size: 0x200000, attributes: PRIVATE, flags: 0 });
  const src = d.make('MMAP_ANON', [], { size: 0x1000 });
  const srcVa = d.w.mappings.get(src)!.va;
  const add = (gpa: number, o: Record<string, number> = {}, busy?: number) =>
    d.text('KVM_TDX_INIT_MEM_REGION', [cpu], { source: srcVa, gpa, nr_pages: 1, flags: 0, ...o }, busy);
  return { d, vm, g, cpu, add, kvm: () => d.w.vms.get(1)!.tdx! };
}

/** The step's SEAMCALLs as NAME:STATUS, with the PAMT type a RECLAIM found. */
const log = (d: Driver) => d.w.step.seamcall.log.map((r) =>
  `${r.name.replace('TDH.', '')}${r.name === 'TDH.PHYMEM.PAGE.RECLAIM' && 'pamtBefore' in r ? `(${r.pamtBefore})` : ''}:${r.status.replace('TDX_', '')}`);

const RELEASE_HKID = ['VP.FLUSH:SUCCESS', 'MNG.VPFLUSHDONE:SUCCESS', 'PHYMEM.CACHE.WB:SUCCESS', 'MNG.KEY.FREEID:SUCCESS'];
const RECLAIMS = [
  'PHYMEM.PAGE.RECLAIM(TDCX):SUCCESS', 'PHYMEM.PAGE.RECLAIM(TDCX):SUCCESS', 'PHYMEM.PAGE.RECLAIM(TDVPR):SUCCESS',
  ...Array(3).fill('PHYMEM.PAGE.RECLAIM(PT_EPT):SUCCESS'),
  ...Array(4).fill('PHYMEM.PAGE.RECLAIM(TDCX):SUCCESS'),
  'PHYMEM.PAGE.RECLAIM(TDR):SUCCESS', 'PHYMEM.PAGE.WBINVD:SUCCESS',
];

describe('TD teardown (tdx.md §1.4)', () => {
  test('HKID release, then TDCX before TDVPR, S-EPT pages, TDCS pages, TDR and a WBINVD of the TDR with the global KeyID', () => {
    const t = td();
    expect(t.add(0)).toBe('0');
    const tdr = t.kvm().controlPfns[0];
    t.d.call('CLOSE', [t.g]);
    t.d.call('CLOSE', [t.cpu]);
    expect(t.d.text('CLOSE', [t.vm])).toBe('0');
    expect(log(t.d)).toEqual([...RELEASE_HKID, ...RECLAIMS]);
    const wb = t.d.w.step.seamcall.log.at(-1)!;
    expect(wb.args).toEqual({ hkid: 0, pfn: tdr, level: 0 });
    expect(t.kvm().hkid).toBeNull();
    expect(isFree(t.d.w.pfns, tdr)).toBe(true);
    expect(t.d.w.tdx.pamt.segs.length).toBe(0);
  });
});

describe('a bugged TD (tdx.md §7.16): only the map path stops', () => {
  test('its private leaves are still zapped through the S-EPT, and its teardown releases the HKID and reclaims every page', () => {
    const t = td();
    expect(t.add(0)).toBe('0');
    // PAGE.ADD, then the first MR.EXTEND is busy: TDX_BUG_ON.
    expect(t.add(0x1000, { flags: 1 }, 2)).toBe('EIO');
    expect(t.d.w.vms.get(1)!.bugged).toBe(true);
    expect(t.add(0x2000)).toBe('EIO');
    expect(t.d.w.step.seamcall.log).toEqual([]);
    expect(t.d.text('FALLOCATE', [t.g], { mode: 3, offset: 0, len: 0x1000 })).toBe('0');
    expect(log(t.d)).toEqual(['MEM.RANGE.BLOCK:SUCCESS', 'MEM.PAGE.REMOVE:SUCCESS', 'PHYMEM.PAGE.WBINVD:SUCCESS']);
    t.d.call('CLOSE', [t.g]);
    expect(log(t.d)).toEqual(['MEM.RANGE.BLOCK:SUCCESS', 'MEM.PAGE.REMOVE:SUCCESS', 'PHYMEM.PAGE.WBINVD:SUCCESS']);
    t.d.call('CLOSE', [t.cpu]);
    t.d.call('CLOSE', [t.vm]);
    expect(log(t.d)).toEqual([...RELEASE_HKID, ...RECLAIMS]);
    expect(t.kvm().hkid).toBeNull();
    expect(t.d.w.tdx.pamt.segs.length).toBe(0);
  });

  test('a bugged TD that never initialized a vCPU flushes none and still releases its HKID', () => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
    d.call('KVM_TDX_INIT_VM', [vm]);
    const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
    expect(d.text('KVM_TDX_FINALIZE_VM', [vm])).toBe('EIO');
    d.call('CLOSE', [cpu]);
    d.call('CLOSE', [vm]);
    expect(log(d).slice(0, 3)).toEqual(['MNG.VPFLUSHDONE:SUCCESS', 'PHYMEM.CACHE.WB:SUCCESS', 'MNG.KEY.FREEID:SUCCESS']);
    expect(d.w.tdx.pamt.segs.length).toBe(0);
  });
});

describe('G1: zap of a pre-mapped leaf (tdx.md §5.2)', () => {
  test('BLOCK is issued and fails with EPT_ENTRY_STATE_INCORRECT, which KVM takes as "pre-mapped": no REMOVE, no bug', () => {
    const t = td('g1');
    expect(t.add(0)).toBe('0');
    // Tables exist: PAGE.ADD is the first SEAMCALL.
    expect(t.add(0x1000, {}, 1)).toBe('EBUSY');
    expect(t.kvm().nrPremapped).toBe(1);
    expect(t.d.text('KVM_SET_MEMORY_ATTRIBUTES', [t.vm], { gpa: 0x1000, size: 0x1000, attributes: 0, flags: 0 })).toBe('0');
    expect(log(t.d)).toEqual(['MEM.RANGE.BLOCK:EPT_ENTRY_STATE_INCORRECT']);
    expect(t.kvm().nrPremapped).toBe(0);
    expect(t.d.w.vms.get(1)!.bugged).toBe(false);
    expect(t.d.text('KVM_TDX_FINALIZE_VM', [t.vm])).toBe('0');
  });

  test('a zap of an ADDed leaf before finalize is BLOCK, REMOVE, WBINVD (no TRACK)', () => {
    const t = td('g1');
    expect(t.add(0)).toBe('0');
    expect(t.d.text('KVM_SET_MEMORY_ATTRIBUTES', [t.vm], { gpa: 0, size: 0x1000, attributes: 0, flags: 0 })).toBe('0');
    expect(log(t.d)).toEqual(['MEM.RANGE.BLOCK:SUCCESS', 'MEM.PAGE.REMOVE:SUCCESS', 'PHYMEM.PAGE.WBINVD:SUCCESS']);
    expect(t.d.w.vms.get(1)!.bugged).toBe(false);
  });
});

describe('a failed KVM_TDX_INIT_VM (tdx.md §2.1 step 10)', () => {
  test('after TDH.MNG.CREATE, the failure bugs the VM and tears the TD down at once: no HKID is kept', () => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
    // CREATE, KEY.CONFIG, then the first ADDCX is busy, which is not entropy exhaustion.
    expect(d.text('KVM_TDX_INIT_VM', [vm], {}, 3)).toBe('EIO');
    expect(log(d)).toEqual([
      'MNG.CREATE:SUCCESS', 'MNG.KEY.CONFIG:SUCCESS', 'MNG.ADDCX:OPERAND_BUSY',
      'MNG.VPFLUSHDONE:SUCCESS', 'PHYMEM.CACHE.WB:SUCCESS', 'MNG.KEY.FREEID:SUCCESS',
      'PHYMEM.PAGE.RECLAIM(TDR):SUCCESS', 'PHYMEM.PAGE.WBINVD:SUCCESS',
    ]);
    expect(d.w.vms.get(1)!.tdx!.hkid).toBeNull();
    expect(d.w.tdx.pamt.segs.length).toBe(0);
    expect(d.text('CLOSE', [vm])).toBe('0');
    expect(log(d)).toEqual([]);
    expect(d.w.pfns.allocated).toBe(0);
  });
});
