// Validation ladders of the KVM_TDX_* ioctls and KVM_PRE_FAULT_MEMORY on a
// TD (tdx.md §1.3, §2, §4.4), as tables on a fixture, plus the BUSY paths
// that [busy=N] reaches.

import { describe, expect, test } from 'vitest';
import { driver, PRIVATE, SLOT, VM, type Driver } from './harness.js';
import type { ProfileName } from '../../src/model/profiles.js';

interface Td {
  d: Driver;
  vm: number;
  g: number;
  cpu: number;
  src: number;
  srcVa: bigint;
}

/** Baseline B of tdx.md §8: a TD with a 2 MiB private slot and one initialized vCPU. */
function baseline(profile: ProfileName = 'upstream', stop: 'vm' | 'vcpu' | 'all' = 'all'): Td {
  const d = driver(profile);
  const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
  const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x200000, flags: 0 });
  d.call('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 0, flags: SLOT.GUEST_MEMFD, gpa: 0, size: 0x200000, uaddr: 0, gmem: g, offset: 0 });
  const src = d.make('MMAP_ANON', [], { size: 0x4000 });
  const srcVa = d.w.mappings.get(src)!.va;
  if (stop === 'vm') return { d, vm, g, cpu: -1, src, srcVa };
  expect(d.text('KVM_TDX_INIT_VM', [vm])).toBe('0');
  const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
  if (stop === 'all') expect(d.text('KVM_TDX_INIT_VCPU', [cpu])).toBe('0');
  d.call('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0, size: 0x200000, attributes: PRIVATE, flags: 0 });
  return { d, vm, g, cpu, src, srcVa };
}

const region = (t: Td, o: Partial<Record<'source' | 'gpa' | 'nr_pages' | 'flags' | 'hw_error', bigint | number>> = {}) => ({
  source: t.srcVa, gpa: 0, nr_pages: 1, flags: 0, ...o,
});

describe('KVM_TDX_INIT_MEM_REGION ladder', () => {
  const U64 = (1n << 64n) - 1n;
  const rows: Array<[string, (t: Td) => Record<string, bigint | number>, string]> = [
    ['valid', (t) => region(t), '0'],
    ['hw_error set', (t) => region(t, { hw_error: 1 }), 'EINVAL'],
    ['unknown flag', (t) => region(t, { flags: 2 }), 'EINVAL'],
    ['unaligned source', (t) => region(t, { source: t.srcVa + 8n }), 'EINVAL'],
    ['NULL source', (t) => region(t, { source: 0 }), 'EINVAL'],
    ['unaligned gpa', (t) => region(t, { gpa: 0x800 }), 'EINVAL'],
    ['no pages', (t) => region(t, { nr_pages: 0 }), 'EINVAL'],
    ['gpa + size wraps', (t) => region(t, { gpa: U64 - 0xfffn, nr_pages: 2 }), 'EINVAL'],
    ['nr_pages << 12 overflows', (t) => region(t, { nr_pages: 1n << 60n }), 'EINVAL'],
    ['first page has the shared bit', (t) => region(t, { gpa: 1n << 47n }), 'EINVAL'],
    ['last page has the shared bit', (t) => region(t, { gpa: (1n << 47n) - 0x1000n, nr_pages: 2 }), 'EINVAL'],
    ['no memslot', (t) => region(t, { gpa: 0x400000 }), 'EINVAL'],
    ['source unmapped', (t) => region(t, { source: t.srcVa + 0x10000n }), 'EFAULT'],
    ['range clamps at nothing: runs off the slot', (t) => region(t, { gpa: 0x1ff000, nr_pages: 2 }), 'EINVAL'],
    // Two checks fail at once, with different errnos: the up-front EINVALs and
    // the memslot lookup come before the source is GUPed (EFAULT).
    ['unknown flag beats unmapped source', (t) => region(t, { flags: 2, source: t.srcVa + 0x10000n }), 'EINVAL'],
    ['unaligned gpa beats unmapped source', (t) => region(t, { gpa: 0x800, source: t.srcVa + 0x10000n }), 'EINVAL'],
    ['shared bit beats unmapped source', (t) => region(t, { gpa: 1n << 47n, source: t.srcVa + 0x10000n }), 'EINVAL'],
    ['no memslot beats unmapped source', (t) => region(t, { gpa: 0x400000, source: t.srcVa + 0x10000n }), 'EINVAL'],
  ];
  test.each(rows)('%s', (_n, args, want) => {
    const t = baseline();
    expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], args(t))).toBe(want);
  });

  test('EINVAL from a vCPU that never ran INIT_VCPU, and after finalize', () => {
    const t = baseline('upstream', 'vcpu');
    expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t))).toBe('EINVAL');
    const u = baseline();
    u.d.call('KVM_TDX_FINALIZE_VM', [u.vm]);
    expect(u.d.text('KVM_TDX_INIT_MEM_REGION', [u.cpu], region(u))).toBe('EINVAL');
  });

  test('partial progress is reported through the advanced region', () => {
    const t = baseline();
    const r = t.d.call('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t, { gpa: 0x10000, nr_pages: 8 }));
    expect(r).toEqual({ kind: 'errno', name: 'EFAULT' });
    expect(t.d.w.step.out).toEqual({ source: t.srcVa + 0x4000n, gpa: 0x14000n, nr_pages: 4n });
  });

  test('a non-TDX VM has no KVM_TDX_* commands: ENOTTY on the VM fd, EINVAL on a vCPU fd', () => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.SW_PROTECTED });
    expect(d.text('KVM_TDX_INIT_VM', [vm])).toBe('ENOTTY');
    const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
    expect(d.text('KVM_TDX_INIT_VCPU', [cpu])).toBe('EINVAL');
  });
});

describe('KVM_TDX_INIT_MEM_REGION ladder under G1 (tdx.md §2.3 G1 deltas)', () => {
  // Each row runs on a fresh baseline where GPA 0 is already added and GPA 0x2000 is shared.
  const rows: Array<[string, (t: Td) => Record<string, bigint | number>, string, string]> = [
    ['NULL source: GUP of address 0', (t) => region(t, { source: 0, gpa: 0x1000 }), 'EFAULT', 'EINVAL'],
    ['prepared page, unmapped source', (t) => region(t, { source: t.srcVa + 0x10000n }), 'EEXIST', 'EFAULT'],
    ['shared GFN, unmapped source', (t) => region(t, { source: t.srcVa + 0x10000n, gpa: 0x2000 }), 'EINVAL', 'EFAULT'],
    ['shared GFN, NULL source', (t) => region(t, { source: 0, gpa: 0x2000 }), 'EINVAL', 'EINVAL'],
    ['prepared page', (t) => region(t), 'EEXIST', 'EIO'],
  ];
  test.each(rows)('%s: g1 %s, upstream %s', (_n, args, g1, upstream) => {
    for (const [profile, want] of [['g1', g1], ['upstream', upstream]] as const) {
      const t = baseline(profile);
      expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t))).toBe('0');
      t.d.call('KVM_SET_MEMORY_ATTRIBUTES', [t.vm], { gpa: 0x2000, size: 0x1000, attributes: 0, flags: 0 });
      expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], args(t))).toBe(want);
      expect(t.d.w.step.seamcall.log).toEqual([]);
    }
  });

  test('an MR.EXTEND error is EIO without bugging the VM under G1, TDX_BUG_ON under G3', () => {
    for (const [profile, bugged] of [['g1', false], ['upstream', true]] as const) {
      const t = baseline(profile);
      // G1: three SEPT.ADDs, PAGE.ADD, then MR.EXTEND; G3 the same order.
      expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t, { flags: 1 }), 5)).toBe('EIO');
      expect(t.d.w.vms.get(1)!.bugged).toBe(bugged);
      expect(t.d.text('KVM_TDX_FINALIZE_VM', [t.vm])).toBe(bugged ? 'EIO' : '0');
    }
  });
});

describe('lifecycle ladders', () => {
  test('INIT_VM: state, flags, then vCPUs already created', () => {
    const t = baseline('upstream', 'vm');
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm], { flags: 1 })).toBe('EINVAL');
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm], { hw_error: 5 })).toBe('EINVAL');
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm])).toBe('0');
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm])).toBe('EINVAL');
  });

  test('INIT_VM: the GPA width is 48 or 52, and an invalid one changes nothing', () => {
    const t = baseline('upstream', 'vm');
    for (const gpaw of [0, 47, 51, 53, 255]) expect(t.d.text('KVM_TDX_INIT_VM', [t.vm], { gpaw }), `gpaw=${gpaw}`).toBe('EINVAL');
    expect(t.d.w.step.seamcall.log).toEqual([]);
    expect(t.d.w.vms.get(1)!.tdx!.gpaw).toBe(null);
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm], { gpaw: 52 })).toBe('0');
    expect(t.d.w.vms.get(1)!.tdx!.gpaw).toBe(52);
  });

  test('GPAW 52: a 5-level S-EPT (four SEPT.ADDs from the level-4 table down), shared bit 51', () => {
    for (const [gpaw, levels, sharedAt] of [[48, [3, 2, 1], 1n << 47n], [52, [4, 3, 2, 1], 1n << 51n]] as const) {
      const d = driver();
      const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
      const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x200000, flags: 0 });
      d.call('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 0, flags: SLOT.GUEST_MEMFD, gpa: 0, size: 0x200000, uaddr: 0, gmem: g, offset: 0 });
      expect(d.text('KVM_TDX_INIT_VM', [vm], { gpaw })).toBe('0');
      const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
      d.call('KVM_TDX_INIT_VCPU', [cpu]);
      d.call('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0, size: 0x200000, attributes: PRIVATE, flags: 0 });
      const src = d.w.mappings.get(d.make('MMAP_ANON', [], { size: 0x1000 }))!.va;
      expect(d.text('KVM_TDX_INIT_MEM_REGION', [cpu], { source: src, gpa: 0, nr_pages: 1, flags: 0 })).toBe('0');
      const adds = d.w.step.seamcall.log.filter((r) => r.name === 'TDH.MEM.SEPT.ADD').map((r) => r.args.level);
      expect(adds, `gpaw ${gpaw}`).toEqual([...levels]);
      // A region whose last page has the shared bit is refused before any SEAMCALL.
      expect(d.text('KVM_TDX_INIT_MEM_REGION', [cpu], { source: src, gpa: sharedAt - 0x1000n, nr_pages: 2, flags: 0 })).toBe('EINVAL');
      expect(d.w.step.seamcall.log).toEqual([]);
      d.call('KVM_TDX_FINALIZE_VM', [vm]);
      expect(d.text('KVM_PRE_FAULT_MEMORY', [cpu], { gpa: sharedAt, size: 0x1000, flags: 0 })).toBe('EINVAL');
      expect(d.text('GUEST_ACCEPT', [cpu], { gpa: sharedAt, level: 0 })).toBe('TDX_OPERAND_INVALID');
      // A private access at 2^48 is past a GPAW-48 TD's width; a GPAW-52 TD has no private memory there.
      expect(d.text('GUEST_ACCESS', [cpu], { gpa: 1n << 48n, private: 1, write: 0 })).toBe(gpaw === 48 ? 'EINVAL' : 'EXIT_MEMORY_FAULT');
    }
  });

  test('GUEST_ACCEPT: a level other than 4K or 2M is an invalid operand, never read as another level', () => {
    const t = baseline();
    t.d.call('KVM_TDX_FINALIZE_VM', [t.vm]);
    for (const level of [2n, 5n, 8n, 1n << 32n, (1n << 64n) - 1n]) {
      expect(t.d.text('GUEST_ACCEPT', [t.cpu], { gpa: 0, level }), `level ${level}`).toBe('TDX_OPERAND_INVALID');
      expect(t.d.w.step.seamcall.log, `level ${level}`).toEqual([]);
    }
    // Nothing was mapped or accepted by the refused calls: a 4K accept still finds no leaf and AUGs one.
    expect(t.d.text('GUEST_ACCEPT', [t.cpu], { gpa: 0, level: 0 })).toBe('OK');
    expect(t.d.w.step.seamcall.log.map((r) => r.name)).toContain('TDH.MEM.PAGE.AUG');
  });

  test('INIT_VCPU: no HKID or RUNNABLE, flags, then already initialized', () => {
    const t = baseline('upstream', 'vcpu');
    expect(t.d.text('KVM_TDX_INIT_VCPU', [t.cpu], { flags: 1 })).toBe('EINVAL');
    expect(t.d.text('KVM_TDX_INIT_VCPU', [t.cpu])).toBe('0');
    expect(t.d.text('KVM_TDX_INIT_VCPU', [t.cpu])).toBe('EINVAL');
  });

  test('FINALIZE: BUSY is EBUSY with nothing changed; a retry succeeds', () => {
    const t = baseline();
    expect(t.d.text('KVM_TDX_FINALIZE_VM', [t.vm], {}, 1)).toBe('EBUSY');
    expect(t.d.w.vms.get(1)!.tdx!.state).toBe('INITIALIZED');
    expect(t.d.text('KVM_TDX_FINALIZE_VM', [t.vm])).toBe('0');
  });

  test('pre-fault: flags, alignment, size 0 and wrap are EINVAL before the TDX gate', () => {
    const t = baseline();
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 0, size: 0x1000, flags: 1 })).toBe('EINVAL');
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 0x10, size: 0x1000, flags: 0 })).toBe('EINVAL');
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 0, size: 0, flags: 0 })).toBe('EINVAL');
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: (1n << 64n) - 0x1000n, size: 0x2000, flags: 0 })).toBe('EINVAL');
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 0, size: 0x1000, flags: 0 })).toBe('EOPNOTSUPP');
    // The finalize gate comes before the shared-bit check: EOPNOTSUPP now, EINVAL once finalized.
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 1n << 47n, size: 0x1000, flags: 0 })).toBe('EOPNOTSUPP');
    t.d.call('KVM_TDX_FINALIZE_VM', [t.vm]);
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 1n << 47n, size: 0x1000, flags: 0 })).toBe('EINVAL');
  });

  test('pre-fault progress: success means at least one page, gpa/size advanced', () => {
    const t = baseline();
    t.d.call('KVM_TDX_FINALIZE_VM', [t.vm]);
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 0x1fe000, size: 0x4000, flags: 0 })).toBe('0');
    expect(t.d.w.step.out).toEqual({ gpa: 0x200000n, size: 0x2000n });
    expect(t.d.text('KVM_PRE_FAULT_MEMORY', [t.cpu], { gpa: 0x200000, size: 0x2000, flags: 0 })).toBe('ENOENT');
    expect(t.d.w.step.out).toEqual({ gpa: 0x200000n, size: 0x2000n });
  });
});

describe('SEAMCALL BUSY handling (tdx.md §3.3)', () => {
  const names = (t: Td) => t.d.w.step.seamcall.log.map((r) => `${r.name.replace('TDH.', '')}:${r.status.replace('TDX_', '')}`);

  test('PAGE.ADD busy is retried inside the map loop; userspace sees 0', () => {
    const t = baseline();
    expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t), 4)).toBe('0');
    expect(names(t)).toEqual(['MEM.SEPT.ADD:SUCCESS', 'MEM.SEPT.ADD:SUCCESS', 'MEM.SEPT.ADD:SUCCESS', 'MEM.PAGE.ADD:OPERAND_BUSY', 'MEM.PAGE.ADD:SUCCESS']);
  });

  test('SEPT.ADD busy is retried too', () => {
    const t = baseline();
    expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t), 2)).toBe('0');
    expect(names(t).filter((n) => n.includes('BUSY'))).toEqual(['MEM.SEPT.ADD:OPERAND_BUSY']);
  });

  test('MR.EXTEND busy is not special-cased: the VM is bugged', () => {
    const t = baseline();
    expect(t.d.text('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t, { flags: 1 }), 5)).toBe('EIO');
    expect(t.d.w.vms.get(1)!.bugged).toBe(true);
    expect(t.d.text('KVM_TDX_INIT_VCPU', [t.cpu])).toBe('EIO');
  });

  test('BLOCK busy on the zap path is retried once and the zap completes', () => {
    const t = baseline();
    t.d.call('KVM_TDX_INIT_MEM_REGION', [t.cpu], region(t));
    t.d.call('KVM_TDX_FINALIZE_VM', [t.vm]);
    expect(t.d.text('KVM_SET_MEMORY_ATTRIBUTES', [t.vm], { gpa: 0, size: 0x1000, attributes: 0, flags: 0 }, 1)).toBe('0');
    expect(names(t)).toEqual(['MEM.RANGE.BLOCK:OPERAND_BUSY', 'MEM.RANGE.BLOCK:SUCCESS', 'MEM.TRACK:SUCCESS', 'MEM.PAGE.REMOVE:SUCCESS', 'PHYMEM.PAGE.WBINVD:SUCCESS']);
    expect(t.d.w.vms.get(1)!.bugged).toBe(false);
  });

  test('INIT_VM: a busy TDH.MNG.CREATE is not entropy exhaustion, so KVM bugs the VM', () => {
    const t = baseline('upstream', 'vm');
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm], {}, 1)).toBe('EIO');
    expect(t.d.text('KVM_TDX_INIT_VM', [t.vm])).toBe('EIO');
  });
});
