// Validation ladders as tables of edge cases (gmem.md §3-6): each row is one
// call on a fresh fixture and the errno the kernel's order gives it.

import { describe, expect, test } from 'vitest';
import { driver, FALLOC, GMEM, PRIVATE, SLOT, VM } from './harness.js';

const U64_MAX = (1n << 64n) - 1n;

describe('KVM_CREATE_GUEST_MEMFD', () => {
  const rows: Array<[string, number, bigint | number, bigint | number, string]> = [
    ['minimal page', VM.SW_PROTECTED, 0x1000, 0, 'OK'],
    ['zero size', VM.SW_PROTECTED, 0, 0, 'EINVAL'],
    ['unaligned size', VM.SW_PROTECTED, 0x1001, 0, 'EINVAL'],
    ['negative loff_t size', VM.SW_PROTECTED, 1n << 63n, 0, 'EINVAL'],
    ['u64 max size', VM.SW_PROTECTED, U64_MAX, 0, 'EINVAL'],
    ['unknown flag beats bad size', VM.SW_PROTECTED, 0, 1n << 40n, 'EINVAL'],
    ['MMAP on a protected VM', VM.SW_PROTECTED, 0x1000, GMEM.MMAP, 'OK'],
    ['INIT_SHARED on a protected VM', VM.SW_PROTECTED, 0x1000, GMEM.MMAP | GMEM.INIT_SHARED, 'EINVAL'],
    ['INIT_SHARED on a TD', VM.TDX, 0x1000, GMEM.INIT_SHARED, 'EINVAL'],
    ['INIT_SHARED on a default VM', VM.DEFAULT, 0x1000, GMEM.MMAP | GMEM.INIT_SHARED, 'OK'],
    ['HugeTLB outside the hugepage profiles', VM.TDX, 0x200000, GMEM.HUGETLB_2M, 'EINVAL'],
  ];
  test.each(rows)('%s', (_name, type, size, flags, want) => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type });
    expect(d.text('KVM_CREATE_GUEST_MEMFD', [vm], { size, flags })).toBe(want);
  });

  test('HugeTLB sizes in the hugepage profile', () => {
    const d = driver('hugepage');
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
    expect(d.text('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x200000, flags: GMEM.HUGETLB_2M })).toBe('OK');
    expect(d.text('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x100000, flags: GMEM.HUGETLB_2M })).toBe('EINVAL');
    expect(d.text('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x40000000, flags: GMEM.HUGETLB_1G })).toBe('OK');
    expect(d.text('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x40000000, flags: GMEM.HUGETLB_1G | GMEM.HUGETLB_2M })).toBe('EINVAL');
    expect(d.text('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x1000, flags: GMEM.MMAP | GMEM.INIT_SHARED })).toBe('OK');
  });
});

describe('fallocate', () => {
  const K = FALLOC.KEEP_SIZE;
  const P = FALLOC.PUNCH_HOLE;
  const rows: Array<[string, number, bigint | number, bigint | number, string]> = [
    ['allocate', K, 0, 0x2000, '0'],
    ['allocate without KEEP_SIZE', 0, 0, 0x1000, 'EOPNOTSUPP'],
    ['punch without KEEP_SIZE (VFS)', P, 0, 0x1000, 'EOPNOTSUPP'],
    ['zero range', K | FALLOC.ZERO_RANGE, 0, 0x1000, 'EOPNOTSUPP'],
    ['punch and zero range together (VFS)', K | P | FALLOC.ZERO_RANGE, 0, 0x1000, 'EOPNOTSUPP'],
    ['unknown mode bit (VFS)', K | 0x1000, 0, 0x1000, 'EOPNOTSUPP'],
    ['zero length beats bad mode (VFS)', 0x1000, 0, 0, 'EINVAL'],
    ['negative offset', K, 1n << 63n, 0x1000, 'EINVAL'],
    ['negative length', K, 0, 1n << 63n, 'EINVAL'],
    ['offset + len past s_maxbytes', K, (1n << 63n) - 0x1000n, 0x2000, 'EFBIG'],
    ['unaligned offset', K, 0x10, 0x1000, 'EINVAL'],
    ['unaligned length', K | P, 0, 0x10, 'EINVAL'],
    ['allocate past EOF', K, 0x3000, 0x2000, 'EINVAL'],
    ['punch past EOF is a no-op', K | P, 0x10000, 0x1000, '0'],
    ['punch straddling EOF', K | P, 0x3000, 0x10000, '0'],
    // Two checks fail at once, with different errnos: swapping them changes the answer.
    ['negative offset beats unknown mode bit (VFS)', K | 0x1000, 1n << 63n, 0x1000, 'EINVAL'],
    ['unknown mode bit (VFS) beats past s_maxbytes', K | 0x1000, (1n << 63n) - 0x1000n, 0x2000, 'EOPNOTSUPP'],
    ['past s_maxbytes (VFS) beats missing KEEP_SIZE (gmem)', 0, (1n << 63n) - 0x1000n, 0x2000, 'EFBIG'],
    ['past s_maxbytes (VFS) beats unaligned offset (gmem)', K, (1n << 63n) - 0x1010n, 0x2000, 'EFBIG'],
    ['missing KEEP_SIZE beats unaligned offset (gmem)', 0, 0x10, 0x1000, 'EOPNOTSUPP'],
    ['zero range beats unaligned length (gmem)', K | FALLOC.ZERO_RANGE, 0, 0x10, 'EOPNOTSUPP'],
  ];
  test.each(rows)('%s', (_name, mode, offset, len, want) => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.SW_PROTECTED });
    const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x4000, flags: 0 });
    expect(d.text('FALLOCATE', [g], { mode, offset, len })).toBe(want);
  });
});

describe('KVM_SET_USER_MEMORY_REGION2', () => {
  type Row = [string, Partial<Record<'slot' | 'flags' | 'gpa' | 'size' | 'uaddr' | 'offset', bigint | number>> & { gmem?: 'own' | 'other' | 'vm' | 'none'; clash?: boolean }, string];
  const rows: Row[] = [
    ['valid gmem slot', {}, '0'],
    ['slot id too large', { slot: 32764 }, 'EINVAL'],
    ['slot id low 16 bits only', { slot: 0x10000 }, 'EINVAL'],
    ['unknown flag', { flags: SLOT.GUEST_MEMFD | 8 }, 'EINVAL'],
    ['dirty logging of gmem', { flags: SLOT.GUEST_MEMFD | SLOT.LOG_DIRTY_PAGES }, 'EINVAL'],
    ['read-only gmem', { flags: SLOT.GUEST_MEMFD | SLOT.READONLY }, 'EINVAL'],
    ['unaligned size', { size: 0x1800 }, 'EINVAL'],
    ['unaligned gpa', { gpa: 0x10 }, 'EINVAL'],
    ['unaligned uaddr', { uaddr: 0x10 }, 'EINVAL'],
    ['uaddr beyond user space', { uaddr: 0x7ffffffff000n }, 'EINVAL'],
    ['unaligned gmem offset', { offset: 0x10 }, 'EINVAL'],
    ['gmem offset wraps', { offset: U64_MAX - 0xfffn }, 'EINVAL'],
    ['gpa wraps', { gpa: U64_MAX - 0xfffn }, 'EINVAL'],
    ['too many pages', { size: 1n << 43n, offset: 0 }, 'EINVAL'],
    ['closed fd', { gmem: 'none' }, 'EBADF'],
    ['the VM fd is not a guest_memfd', { gmem: 'vm' }, 'EINVAL'],
    ["another VM's guest_memfd", { gmem: 'other' }, 'EINVAL'],
    ['range past the file', { offset: 0x2000 }, 'EINVAL'],
    ['delete of a missing slot', { size: 0 }, 'EINVAL'],
    ['plain read-only slot on a protected VM', { flags: SLOT.READONLY, gmem: 'none' }, '0'],
    ['overlap with another slot', { clash: true }, 'EEXIST'],
    // Two checks fail at once, with different errnos: the EINVAL ladder comes
    // before the overlap check (EEXIST), which comes before the guest_memfd
    // binding (EBADF, EINVAL), so swapping any two changes the answer.
    ['slot id too large beats closed fd', { slot: 32764, gmem: 'none' }, 'EINVAL'],
    ['unknown flag beats closed fd', { flags: SLOT.GUEST_MEMFD | 8, gmem: 'none' }, 'EINVAL'],
    ['unaligned size beats closed fd', { size: 0x1800, gmem: 'none' }, 'EINVAL'],
    ['delete of a missing slot beats closed fd', { size: 0, gmem: 'none' }, 'EINVAL'],
    ['unaligned gpa beats overlap', { gpa: 0x10, clash: true }, 'EINVAL'],
    ['too many pages beats overlap', { size: 1n << 43n, clash: true }, 'EINVAL'],
    ['overlap beats closed fd', { clash: true, gmem: 'none' }, 'EEXIST'],
    ["overlap beats another VM's guest_memfd", { clash: true, gmem: 'other' }, 'EEXIST'],
    ['closed fd beats range past the file', { gmem: 'none', offset: 0x2000 }, 'EBADF'],
  ];
  test.each(rows)('%s', (_name, o, want) => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.SW_PROTECTED });
    const vm2 = d.make('KVM_CREATE_VM', [], { type: VM.SW_PROTECTED });
    const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x4000, flags: 0 });
    const other = d.make('KVM_CREATE_GUEST_MEMFD', [vm2], { size: 0x4000, flags: 0 });
    const fd = { own: g, other, vm, none: -1 }[o.gmem ?? 'own'];
    if (o.clash) {
      // A plain slot (no guest_memfd) over the first page of the range.
      const m = d.make('MMAP_ANON', [], { size: 0x1000 });
      expect(d.text('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 7, flags: 0, gpa: 0, size: 0x1000, uaddr: d.w.mappings.get(m)!.va, gmem: -1, offset: 0 })).toBe('0');
    }
    expect(d.text('KVM_SET_USER_MEMORY_REGION2', [vm], {
      slot: o.slot ?? 0, flags: o.flags ?? SLOT.GUEST_MEMFD, gpa: o.gpa ?? 0, size: o.size ?? 0x4000,
      uaddr: o.uaddr ?? 0, gmem: fd, offset: o.offset ?? 0,
    })).toBe(want);
  });

  test('read-only memory does not exist for TDs', () => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
    expect(d.text('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 0, flags: SLOT.READONLY, gpa: 0, size: 0x1000, uaddr: 0, gmem: -1, offset: 0 })).toBe('EINVAL');
  });
});

describe('KVM_SET_MEMORY_ATTRIBUTES', () => {
  const rows: Array<[string, number, bigint | number, bigint | number, number, number, string]> = [
    ['private', VM.SW_PROTECTED, 0, 0x1000, PRIVATE, 0, '0'],
    ['flags', VM.SW_PROTECTED, 0, 0x1000, PRIVATE, 1, 'EINVAL'],
    ['unknown attribute', VM.SW_PROTECTED, 0, 0x1000, 1, 0, 'EINVAL'],
    ['private on a default VM', VM.DEFAULT, 0, 0x1000, PRIVATE, 0, 'EINVAL'],
    ['zero size', VM.SW_PROTECTED, 0, 0, PRIVATE, 0, 'EINVAL'],
    ['wrap', VM.SW_PROTECTED, U64_MAX - 0xfffn, 0x2000, PRIVATE, 0, 'EINVAL'],
    ['unaligned address', VM.SW_PROTECTED, 0x10, 0x1000, PRIVATE, 0, 'EINVAL'],
    ['unaligned size', VM.SW_PROTECTED, 0, 0x10, PRIVATE, 0, 'EINVAL'],
    ['1 TiB', VM.TDX, 0, 1n << 40n, PRIVATE, 0, '0'],
  ];
  test.each(rows)('%s', (_name, type, gpa, size, attributes, flags, want) => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type });
    expect(d.text('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa, size, attributes, flags })).toBe(want);
  });

  test('in-place conversion switches the per-VM PRIVATE attribute off', () => {
    const d = driver('inplace');
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.TDX });
    expect(d.text('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0, size: 0x1000, attributes: PRIVATE, flags: 0 })).toBe('EINVAL');
  });
});

describe('closing a guest_memfd (gmem.md §4.3)', () => {
  test('zaps with the file\'s invalidate filter: private leaves go, a shared leaf served from userspace_addr stays', () => {
    const d = driver();
    const vm = d.make('KVM_CREATE_VM', [], { type: VM.SW_PROTECTED });
    const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
    const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: 0x2000, flags: 0 });
    const src = d.make('MMAP_ANON', [], { size: 0x2000 });
    const uaddr = d.w.mappings.get(src)!.va;
    expect(d.text('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 0, flags: SLOT.GUEST_MEMFD, gpa: 0, size: 0x2000, uaddr, gmem: g, offset: 0 })).toBe('0');
    d.call('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0, size: 0x1000, attributes: PRIVATE, flags: 0 });
    expect(d.text('GUEST_ACCESS', [cpu], { gpa: 0, private: 1, write: 0 })).toBe('0');
    expect(d.text('GUEST_ACCESS', [cpu], { gpa: 0x1000, private: 0, write: 0 })).toBe('0');
    const direct = d.w.vms.get(1)!.mmu.direct.leaves[0];
    expect([...direct.keys()].sort()).toEqual([0, 1]);
    expect(d.text('CLOSE', [g])).toBe('0');
    expect([...direct.keys()]).toEqual([1]);
  });
});
