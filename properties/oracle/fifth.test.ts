// Rules that came from the fifth batch of mutants written without looking
// at the checks (docs/mutants.md): each case runs a program on the sound
// model, which must be clean, then alters the last step the way the mutant's
// model answered, and the rule must say so.

import { describe, expect, test } from 'vitest';
import type { ProfileName } from '../../src/model/profiles.js';
import { err, ok, tdxStatus, val, type Ret } from '../../src/model/result.js';
import type { CheckCtx } from '../../src/invariants/types.js';
import { lastStep as last, messagesOf as messages, TD } from './steps.js';

function lastStep(profile: ProfileName, text: string): CheckCtx {
  const s = last(profile, text, 'fifth.test');
  expect(s.violations).toEqual([]);
  return s.ctx;
}

const withRet = (c: CheckCtx, ret: Ret): CheckCtx => ({ ...c, ret });
const RUNNABLE = TD + '\nKVM_TDX_FINALIZE_VM(vm0)';

describe('fifth out-of-sample batch', () => {
  test('a memslot on another VM\'s guest_memfd must fail (uapi-gmem-bind-foreign-vm)', () => {
    const c = lastStep('upstream', TD + '\nvm1 = KVM_CREATE_VM(type=SW_PROTECTED)\nKVM_SET_USER_MEMORY_REGION2(vm1, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x200000, uaddr=0x0, gmem=g0, offset=0x0)');
    expect(c.ret).toEqual(err('EINVAL'));
    expect(c.ref.now.refused?.errnos).toBe('any');
    expect(messages(withRet(c, ok()), 'errno-contract')[0]).toMatch(/succeeded, but its guest_memfd \(fd \d+\) belongs to vm\d+, not vm\d+: kvm_gmem_bind\(\)/);
    // The owner may bind it.
    expect(lastStep('upstream', TD.replace(/KVM_SET_MEMORY_ATTRIBUTES.*$/, '')).ref.now.refused).toBeUndefined();
  });

  test('G1: a page whose PAGE.ADD failed is not refused as prepared (kvm-g1-failed-add-stays-prepared)', () => {
    const region = (gpa: string, busy = '') => `\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=${gpa}, nr_pages=1, flags=0)${busy}`;
    // The tables are in place after the first page, so busy=1 is the second page's PAGE.ADD; the page is then made shared, and the retry asks about privacy.
    const prefix = TD + '\nsrc0 = MMAP_ANON(size=0x1000)' + region('0x0') + region('0x1000', ' [busy=1]') + '\nKVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x1000, size=0x1000, attributes=0, flags=0)';
    const c = lastStep('g1', prefix + region('0x1000'));
    expect(c.ret).toEqual(err('EINVAL'));
    expect(c.ref.now.forbidden?.errno).toBe('EEXIST');
    expect(messages(withRet(c, err('EEXIST')), 'errno-contract')[0]).toMatch(/failed with EEXIST, but GFN 0x1's PAGE.ADD failed, which leaves its page unprepared/);
    // A call that may fault the page in in between forgets it: nothing is ruled out then.
    const touched = lastStep('g1', prefix + '\nGUEST_ACCESS(cpu0, gpa=0x1000, private=0, write=0)' + region('0x1000'));
    expect(touched.ref.now.forbidden).toBeUndefined();
  });

  test('a 2 MiB accept over a 4 KiB page table is TDX_PAGE_SIZE_MISMATCH, with no SEAMCALL (tdx-accept-2m-table-check-after-state)', () => {
    const c = lastStep('hugepage', RUNNABLE + '\nGUEST_ACCEPT(cpu0, gpa=0x200000, level=4K)\nGUEST_ACCEPT(cpu0, gpa=0x200000, level=2M)');
    expect(c.ret).toEqual(tdxStatus('TDX_PAGE_SIZE_MISMATCH'));
    expect(c.before.hugeAcceptOverTable).toBe(true);
    expect(messages(withRet(c, tdxStatus('TDX_PAGE_ALREADY_ACCEPTED')), 'errno-contract')).toContain('GUEST_ACCEPT at 2 MiB of GPA 0x200000, over a 4 KiB page table, answered TDX_PAGE_ALREADY_ACCEPTED; the module refuses it with TDX_PAGE_SIZE_MISMATCH first');
    // The mutant's other answer: an EPT violation, which KVM resolves with a PAGE.AUG before the mismatch.
    const aug = { ...c, step: { ...c.step, seamcall: { ...c.step.seamcall, log: [{ name: 'TDH.MEM.PAGE.AUG', status: 'TDX_SUCCESS', td: null, args: {} }] } } } as unknown as CheckCtx;
    expect(messages(aug, 'errno-contract')).toContain('GUEST_ACCEPT at 2 MiB of GPA 0x200000, over a 4 KiB page table, issued TDH.MEM.PAGE.AUG');
    // An unaligned GPA is the operand check's, which comes first.
    expect(lastStep('hugepage', RUNNABLE + '\nGUEST_ACCEPT(cpu0, gpa=0x200000, level=4K)\nGUEST_ACCEPT(cpu0, gpa=0x201000, level=2M)').before.hugeAcceptOverTable).toBeUndefined();
  });

  test('a page nothing accepted or added is neither accepted already nor readable (tdx-demote-drops-pending-state)', () => {
    const c = lastStep('upstream', RUNNABLE + '\nGUEST_ACCEPT(cpu0, gpa=0x3000, level=4K)');
    expect(c.ret).toEqual({ kind: 'outcome', name: 'OK' });
    expect(c.ref.now.neverAccepted).toBe(3);
    expect(messages(withRet(c, tdxStatus('TDX_PAGE_ALREADY_ACCEPTED')), 'errno-contract')).toEqual(['GUEST_ACCEPT of GPA 0x3000 answered TDX_PAGE_ALREADY_ACCEPTED, but the TD never accepted GFN 0x3 and INIT_MEM_REGION never added it']);
    // Once named, an accept may find it accepted.
    expect(lastStep('upstream', RUNNABLE + '\nGUEST_ACCEPT(cpu0, gpa=0x3000, level=4K)\nGUEST_ACCEPT(cpu0, gpa=0x3000, level=4K)').ref.now.neverAccepted).toBeUndefined();
    // A private read of a page never accepted kills the TD; one that returns a byte breaks the rule.
    const read = last('upstream', RUNNABLE + '\nGUEST_ACCESS(cpu0, gpa=0x5000, private=1, write=0)', 'fifth.test').ctx;
    expect(read.ret.kind).not.toBe('int');
    expect(messages(withRet(read, val(0)), 'content-integrity')).toEqual(['GUEST_ACCESS: GUEST_ACCESS of GPA 0x5000 (private) succeeded, but the TD never accepted GFN 0x5 and INIT_MEM_REGION never added it']);
  });
});
