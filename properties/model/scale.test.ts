// Ranges are stored as ranges: attributes, bindings, allocation and punch
// holes over a 1 TiB guest leave structures as small as over 16 MiB. This
// checks sizes, not times: the speed ratio is npm run bench's job.

import { describe, expect, test } from 'vitest';
import { driver, FALLOC, PRIVATE, SLOT, VM } from './harness.js';

function build(bytes: bigint) {
  const d = driver();
  const vm = d.make('KVM_CREATE_VM', [], { type: VM.SW_PROTECTED });
  const g = d.make('KVM_CREATE_GUEST_MEMFD', [vm], { size: bytes, flags: 0 });
  expect(d.text('KVM_SET_USER_MEMORY_REGION2', [vm], { slot: 0, flags: SLOT.GUEST_MEMFD, gpa: 0, size: bytes, uaddr: 0, gmem: g, offset: 0 })).toBe('0');
  expect(d.text('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0, size: bytes, attributes: PRIVATE, flags: 0 })).toBe('0');
  expect(d.text('KVM_SET_MEMORY_ATTRIBUTES', [vm], { gpa: 0x1000, size: 0x1000, attributes: 0, flags: 0 })).toBe('0');
  expect(d.text('FALLOCATE', [g], { mode: FALLOC.KEEP_SIZE, offset: 0, len: bytes })).toBe('0');
  const cpu = d.make('KVM_CREATE_VCPU', [vm], { id: 0 });
  expect(d.text('GUEST_ACCESS', [cpu], { gpa: bytes - 0x1000n, private: 1, write: 1, byte: 7 })).toBe('OK');
  const w = d.w;
  const sizes = () => ({
    attrs: w.vms.get(1)!.attrs.segs.length,
    bindings: w.gmems.get(2)!.bindings.segs.length,
    pages: w.gmems.get(2)!.inode.pages.segs.length,
    frames: w.phys.bytes.size,
  });
  const afterAlloc = sizes();
  expect(d.text('FALLOCATE', [g], { mode: FALLOC.KEEP_SIZE | FALLOC.PUNCH_HOLE, offset: 0, len: bytes })).toBe('0');
  return { afterAlloc, afterPunch: sizes(), free: w.pfns.free.segs.length };
}

describe('a 1 TiB guest costs what a 16 MiB one does', () => {
  test('the same number of segments whatever the size', () => {
    const small = build(16n << 20n);
    const large = build(1n << 40n);
    expect(large).toEqual(small);
    expect(large.afterAlloc.attrs).toBeLessThanOrEqual(3);
    expect(large.afterAlloc.bindings).toBe(1);
    expect(large.afterAlloc.pages).toBeLessThanOrEqual(3);
    expect(large.afterPunch.pages).toBe(0);
  });
});
