// Rules that came from mutants written without looking at the
// invariants (docs/mutants.md, "out of sample"): failures the arguments
// alone decide (oracle/args.ts, checked by errno-contract), the range
// KVM_PRE_FAULT_MEMORY and INIT_MEM_REGION copy back (errno-contract), and
// the write-back of every frame a PAGE.REMOVE took (removal-order). Each
// case runs a program on the sound model, which must be clean; then the last
// step is altered the way a faulty model would answer, and the rule must
// say so.

import { describe, expect, test } from 'vitest';
import type { ProfileName } from '../../src/model/profiles.js';
import { err, ok, type Ret } from '../../src/model/result.js';
import type { CheckCtx } from '../../src/invariants/types.js';
import { HUGE_TD, lastStep as last, messagesOf as messages, TD } from './steps.js';

/** Run a program that must be clean throughout; the last step's checked context. */
function lastStep(profile: ProfileName, text: string): CheckCtx {
  const s = last(profile, text, 'args.test');
  expect(s.violations).toEqual([]);
  return s.ctx;
}

const withRet = (c: CheckCtx, ret: Ret): CheckCtx => ({ ...c, ret });

describe('failures the arguments decide (errno-contract)', () => {
  test('fallocate of a negative offset is EINVAL, before its range is looked at', () => {
    const c = lastStep('upstream', TD + '\nFALLOCATE(g0, mode=KEEP_SIZE, offset=0x8000000000000000, len=0x1000)');
    expect(c.ret).toEqual(err('EINVAL'));
    expect(c.ref.now.refused?.errnos).toEqual(['EINVAL']);
    expect(messages(withRet(c, err('EFBIG')), 'errno-contract')).toEqual(['FALLOCATE failed with EFBIG, but vfs_fallocate() refuses a negative offset first: EINVAL']);
    expect(messages(withRet(c, ok()), 'errno-contract')).toEqual(['FALLOCATE succeeded, but vfs_fallocate() refuses a negative offset first']);
  });

  test('fallocate of a zero length is EINVAL', () => {
    const c = lastStep('upstream', TD + '\nFALLOCATE(g0, mode=KEEP_SIZE, offset=0x0, len=0x0)');
    expect(messages(withRet(c, err('EOPNOTSUPP')), 'errno-contract')).toHaveLength(1);
  });

  test('a guest_memfd of 2^63 bytes is refused', () => {
    const c = lastStep('upstream', 'vm0 = KVM_CREATE_VM(type=TDX)\nKVM_CREATE_GUEST_MEMFD(vm0, size=0x8000000000000000, flags=0)');
    expect(c.ret).toEqual(err('EINVAL'));
    expect(messages(withRet(c, { kind: 'outcome', name: 'OK', handle: 9 }), 'errno-contract')).toHaveLength(1);
  });

  test('a memslot of a TD that reaches the shared bit fails, once INIT_VM set the bit', () => {
    const slot = '\nKVM_SET_USER_MEMORY_REGION2(vm0, slot=1, flags=0, gpa=0x7ffffffff000, size=0x2000, uaddr=0x0, gmem=0, offset=0x0)';
    const c = lastStep('upstream', TD + slot);
    expect(c.ret.kind).toBe('errno');
    expect(c.ref.now.refused?.errnos).toBe('any');
    expect(messages(withRet(c, ok()), 'errno-contract')[0]).toMatch(/succeeded, but its last GFN has the TD's shared bit \(GPA bit 47\)/);
    // Before INIT_VM a TD has no shared bit yet.
    const early = lastStep('upstream', 'vm0 = KVM_CREATE_VM(type=TDX)' + slot);
    expect(early.ref.now.refused).toBeUndefined();
  });

  test('INIT_MEM_REGION through a vCPU that never finished KVM_TDX_INIT_VCPU fails', () => {
    const region = (cpu: string) => `\nsrc0 = MMAP_ANON(size=0x1000)\nKVM_TDX_INIT_MEM_REGION(${cpu}, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE)`;
    const raw = lastStep('upstream', TD + '\ncpu1 = KVM_CREATE_VCPU(vm0, id=1)' + region('cpu1'));
    expect(raw.ret).toEqual(err('EINVAL'));
    expect(raw.ref.now.refused?.errnos).toBe('any');
    expect(messages(withRet(raw, ok()), 'errno-contract')).toEqual(["KVM_TDX_INIT_MEM_REGION succeeded, but its vCPU has not finished KVM_TDX_INIT_VCPU (tdx_vcpu_init_mem_region())"]);
    // The vCPU that finished it may add the page.
    const ready = lastStep('upstream', TD + region('cpu0'));
    expect(ready.ret).toEqual(ok());
    expect(ready.ref.now.refused).toBeUndefined();
  });

  test('G1: a page guest_memfd already prepared is refused with EEXIST before its privacy is looked at', () => {
    const add = '\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE)';
    const prefix = TD + '\nsrc0 = MMAP_ANON(size=0x1000)' + add + '\nKVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x1000, attributes=0, flags=0)';
    const c = lastStep('g1', prefix + add);
    expect(c.ret).toEqual(err('EEXIST'));
    expect(c.ref.now.refused?.errnos).toEqual(['EEXIST', 'EIO']);
    // Asking about privacy first would answer EINVAL for the shared GFN.
    expect(messages(withRet(c, err('EINVAL')), 'errno-contract')).toEqual(['KVM_TDX_INIT_MEM_REGION failed with EINVAL, but GFN 0x0 is backed by a page guest_memfd has already prepared, which G1\'s kvm_gmem_populate() refuses first: EEXIST or EIO']);
    // A page never prepared predicts nothing; nor does G3, which GUPs the source and asks about privacy first.
    expect(lastStep('g1', TD + '\nsrc0 = MMAP_ANON(size=0x1000)' + add).ref.now.refused).toBeUndefined();
    expect(lastStep('upstream', prefix + add).ref.now.refused).toBeUndefined();
  });

  test('arguments that decide nothing predict nothing', () => {
    const c = lastStep('upstream', TD + '\nFALLOCATE(g0, mode=KEEP_SIZE, offset=0x0, len=0x1000)');
    expect(c.ref.now.refused).toBeUndefined();
  });
});

describe('the range a call copies back (errno-contract)', () => {
  const prefault = TD + '\nKVM_TDX_FINALIZE_VM(vm0)\nKVM_PRE_FAULT_MEMORY(cpu0, gpa=0x0, size=0x3000, flags=0)';

  test('KVM_PRE_FAULT_MEMORY ends where the range ended and never grows', () => {
    const c = lastStep('upstream', prefault);
    expect(c.step.out).toMatchObject({ gpa: 0x3000n, size: 0n });
    const past = { ...c, step: { ...c.step, out: { gpa: 0x200000n, size: 0x3000n - 0x200000n } } };
    expect(messages(past, 'errno-contract')[0]).toMatch(/KVM_PRE_FAULT_MEMORY copied back gpa 0x200000 size -0x1fd000 for the range 0x0\+0x3000/);
  });

  test('INIT_MEM_REGION moves gpa by the pages it took off nr_pages', () => {
    const c = lastStep('upstream', TD + '\nsrc0 = MMAP_ANON(size=0x2000)\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=2, flags=MEASURE)');
    expect(c.step.out).toMatchObject({ gpa: 0x2000n, nr_pages: 0n });
    const skew = { ...c, step: { ...c.step, out: { ...c.step.out, nr_pages: 1n } } };
    expect(messages(skew, 'errno-contract')).toHaveLength(1);
  });
});

describe('every frame a PAGE.REMOVE took is written back (removal-order)', () => {
  const huge = `${HUGE_TD}
FALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x0, len=0x200000)`;

  test('a 2 MiB leaf removed is flushed whole; a flush of its first 4 KiB leaves the rest', () => {
    const c = lastStep('hugepage', huge);
    const log = c.step.seamcall.log;
    const remove = log.find((r) => r.name === 'TDH.MEM.PAGE.REMOVE');
    expect(remove).toMatchObject({ status: 'TDX_SUCCESS', args: { level: 1 } });
    const short = log.map((r) => (r.name === 'TDH.PHYMEM.PAGE.WBINVD' ? { ...r, args: { ...r.args, level: 0 as const } } : r));
    const ctx = { ...c, step: { ...c.step, seamcall: { ...c.step.seamcall, log: short } } };
    expect(messages(ctx, 'removal-order')[0]).toMatch(/PFN 0x[0-9a-f]+, removed from GPA 0x0 by TDH.MEM.PAGE.REMOVE, was never written back with TDH.PHYMEM.PAGE.WBINVD/);
  });
});
