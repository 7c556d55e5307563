// Rules that came from the third out-of-sample batch of mutants
// (docs/mutants.md): each case runs a program on the sound model, which must
// be clean; then the last step, or the state it left, is altered the way a
// faulty model would leave it, and the rule must say so.

import { describe, expect, test } from 'vitest';
import { err, ok } from '../../src/model/result.js';
import { asGfn, asGpa } from '../../src/model/units.js';
import type { CheckCtx } from '../../src/invariants/types.js';
import { lastStep as last, messagesOf as messages, TD } from './steps.js';
import type { ProfileName } from '../../src/model/profiles.js';

function lastStep(profile: ProfileName, text: string): CheckCtx {
  const s = last(profile, text, 'third.test');
  expect(s.violations).toEqual([]);
  return s.ctx;
}

describe('a second KVM_TDX_INIT_VCPU (errno-contract)', () => {
  test('fails once the vCPU finished the first; the first predicts nothing', () => {
    const c = lastStep('upstream', TD + '\nKVM_TDX_INIT_VCPU(cpu0)');
    expect(c.ret).toEqual(err('EINVAL'));
    expect(c.ref.now.refused?.errnos).toEqual(['EINVAL', 'EIO']);
    expect(messages({ ...c, ret: ok() }, 'errno-contract')).toEqual(['KVM_TDX_INIT_VCPU succeeded, but its vCPU already finished KVM_TDX_INIT_VCPU (tdx_vcpu_init() wants it UNINITIALIZED)']);
    const first = lastStep('upstream', TD.replace(/\nKVM_TDX_INIT_VCPU\(cpu0\)[^]*$/, '\nKVM_TDX_INIT_VCPU(cpu0)'));
    expect(first.ref.now.refused).toBeUndefined();
  });
});

describe('what KVM_PRE_FAULT_MEMORY reports done is mapped (errno-contract)', () => {
  test('a page of the range left without a leaf is named', () => {
    const c = lastStep('upstream', TD + '\nKVM_TDX_FINALIZE_VM(vm0)\nKVM_PRE_FAULT_MEMORY(cpu0, gpa=0x0, size=0x3000, flags=0)');
    expect(c.step.out).toMatchObject({ gpa: 0x3000n, size: 0n });
    expect(messages(c, 'errno-contract')).toEqual([]);
    const vm = c.world.vms.get(1)!;
    expect(vm.mmu.mirror.leaves[0].delete(asGfn(1))).toBe(true);
    expect(messages(c, 'errno-contract')).toEqual(['KVM_PRE_FAULT_MEMORY copied back gpa 0x3000, so [0x0, 0x3000) was mapped, but GFN 0x1 has no leaf']);
  });
});

describe('a conversion removes private pages only inside its range (attr-consistency)', () => {
  const accepted = TD + '\nKVM_TDX_FINALIZE_VM(vm0)\nGUEST_ACCEPT(cpu0, gpa=0x1000, level=4K)\nGUEST_ACCEPT(cpu0, gpa=0x5000, level=4K)';

  test('per VM and through the file, the REMOVE of a page past the end is named', () => {
    const c = lastStep('upstream', accepted + '\nKVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x1000, size=0x4000, attributes=0, flags=0)');
    const log = c.step.seamcall.log;
    expect(log.filter((r) => r.name === 'TDH.MEM.PAGE.REMOVE').map((r) => r.args.gpa)).toEqual([0x1000]);
    const over = log.map((r) => (r.name === 'TDH.MEM.PAGE.REMOVE' ? { ...r, args: { ...r.args, gpa: asGpa(0x5000) } } : r));
    const ctx = { ...c, step: { ...c.step, seamcall: { ...c.step.seamcall, log: over } } };
    expect(messages(ctx, 'attr-consistency')).toContain('KVM_SET_MEMORY_ATTRIBUTES: removed the private page at GFN 0x5 of vm1, outside the range the call invalidates');
  });

  test('a punch is judged by the slots bound to the file range (offset 0x1000 of the file is GFN 0x1)', () => {
    const c = lastStep('upstream', accepted + '\nFALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x1000, len=0x1000)');
    expect(c.ref.invalidated(c.call)).toEqual(new Map([[1, [[1, 2]]]]));
    expect(messages(c, 'attr-consistency')).toEqual([]);
  });
});

describe('a shared guest access to a live anonymous page cannot fail (content-integrity)', () => {
  const plain = `vm0 = KVM_CREATE_VM(type=DEFAULT)
m0 = MMAP_ANON(size=0x4000)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=0, gpa=0x2000, size=0x2000, uaddr=m0+0x1000, gmem=-1, offset=0x0)`;

  test('an access through a plain memslot must reach its page', () => {
    const c = lastStep('upstream', plain + '\nGUEST_ACCESS(cpu0, gpa=0x3000, private=0, write=1, byte=0x22)');
    expect(c.ret).toMatchObject({ kind: 'outcome', name: 'OK' });
    expect(c.ref.now.mustReach).toMatch(/shared access to page 0x2 of live anonymous mapping/);
    expect(messages({ ...c, ret: { kind: 'outcome', name: 'EXIT_MEMORY_FAULT' } }, 'content-integrity')[0]).toMatch(/answered EXIT_MEMORY_FAULT, but it is a shared access to page 0x2 of live anonymous mapping \d+, which nothing may refuse/);
  });

  test('outside the mapping, or a write to a read-only memslot, predicts nothing', () => {
    expect(lastStep('upstream', plain.replace('size=0x2000, uaddr=m0+0x1000', 'size=0x8000, uaddr=m0+0x1000') + '\nGUEST_ACCESS(cpu0, gpa=0x9000, private=0, write=0)').ref.now.mustReach).toBeUndefined();
    expect(lastStep('upstream', plain.replace('flags=0, gpa', 'flags=READONLY, gpa') + '\nGUEST_ACCESS(cpu0, gpa=0x3000, private=0, write=1, byte=0x22)').ref.now.mustReach).toBeUndefined();
  });
});

describe('a frame TDH.MEM.PAGE.AUG maps holds what its guest_memfd page holds (zero-before-exposure)', () => {
  test('a stale byte in the frame is named, from the SEAMCALL log alone', () => {
    const c = lastStep('upstream', TD + '\nKVM_TDX_FINALIZE_VM(vm0)\nKVM_PRE_FAULT_MEMORY(cpu0, gpa=0x0, size=0x1000, flags=0)');
    const aug = c.step.seamcall.log.find((r) => r.name === 'TDH.MEM.PAGE.AUG');
    expect(aug).toMatchObject({ status: 'TDX_SUCCESS', args: { gpa: 0 } });
    expect(messages(c, 'zero-before-exposure')).toEqual([]);
    c.world.phys.bytes.set((aug as { args: { pfn: number } }).args.pfn as never, 0x77);
    expect(messages(c, 'zero-before-exposure')[0]).toMatch(/TDH.MEM.PAGE.AUG maps PFN 0x[0-9a-f]+ at GFN 0x0 holding 0x77, but g\d+ index 0x0 holds 0x0/);
  });
});
