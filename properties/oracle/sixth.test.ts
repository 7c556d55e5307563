// Rules that came from the sixth batch of mutants written without looking
// at the checks (docs/mutants.md): each case runs a program on the sound
// model, which must be clean, then alters the last step (or what the oracle
// read from earlier ones) the way the mutant's model behaved, and the rule
// must say so.

import { describe, expect, test } from 'vitest';
import { err, ok, type Ret } from '../../src/model/result.js';
import type { SeamcallRecord } from '../../src/model/tdx/seamcall.js';
import type { CheckCtx } from '../../src/invariants/types.js';
import { RangeMap } from '../../src/oracle/intervals.js';
import { checkedSteps, messagesOf as messages, TD as STEPS_TD } from './steps.js';

/** Every step of a program on the sound model, which must be clean. */
function cleanSteps(profile: 'upstream' | 'inplace', text: string): CheckCtx[] {
  const steps = checkedSteps(profile, text, 'sixth.test');
  steps.forEach((s, i) => expect(s.violations, `step ${i}`).toEqual([]));
  return steps.map((s) => s.ctx);
}

const withRet = (c: CheckCtx, ret: Ret): CheckCtx => ({ ...c, ret });
const withLog = (c: CheckCtx, log: SeamcallRecord[]): CheckCtx => ({ ...c, step: { ...c.step, seamcall: { ...c.step.seamcall, log } } });

/** A RUNNABLE TD whose guest accepted its first two pages. */
const TD = STEPS_TD + '\nKVM_TDX_FINALIZE_VM(vm0)\nGUEST_ACCEPT(cpu0, gpa=0x0, level=4K)\nGUEST_ACCEPT(cpu0, gpa=0x1000, level=4K)';

describe('sixth out-of-sample batch', () => {
  test('a TD page is reclaimed only once its HKID is released (kvm-init-vm-undo-skips-hkid-release)', () => {
    // A failed INIT_VM undoes what it built: FREEID first, then the RECLAIMs.
    const steps = cleanSteps('upstream', 'vm0 = KVM_CREATE_VM(type=TDX)\nKVM_TDX_INIT_VM(vm0) [busy=3]');
    const c = steps[steps.length - 1];
    const log = c.step.seamcall.log;
    const reclaim = log.findIndex((r) => r.name === 'TDH.PHYMEM.PAGE.RECLAIM');
    expect(reclaim).toBeGreaterThan(log.findIndex((r) => r.name === 'TDH.MNG.KEY.FREEID'));
    // The mutant reclaimed with the HKID still assigned, which the module refuses.
    const refused = log.map((r, i) => (i === reclaim ? { ...r, status: 'TDX_OP_STATE_INCORRECT' } : r)) as SeamcallRecord[];
    expect(messages(withLog(c, refused), 'removal-order')).toEqual([expect.stringMatching(/^KVM_TDX_INIT_VM: TDH.PHYMEM.PAGE.RECLAIM of PFN 0x[0-9a-f]+ while its TD still holds its HKID/)]);
  });

  test('a bugged TD still zaps through the module (mmu-bugged-vm-skips-remove-hook)', () => {
    // busy=4 is the punch's WBINVD: the TD is bugged, and GFN 1 stays mapped in both the mirror and the S-EPT.
    const steps = cleanSteps('upstream', TD + '\nFALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x0, len=0x1000) [busy=4]');
    const c = { ...steps[steps.length - 1], full: true };
    const vm = [...c.world.vms.values()][0];
    expect(vm.bugged).toBe(true);
    expect(messages(c, 'mirror-sept-agree')).toEqual([]);
    // The mutant's zap: the mirror leaf goes, the S-EPT is never told.
    expect(vm.mmu.mirror.leaves[0].delete(1 as never)).toBe(true);
    expect(messages(c, 'mirror-sept-agree')).toEqual([expect.stringMatching(/^FALLOCATE: bugged vm\d+'s mirror has no leaf at GFN 0x1, but the S-EPT still holds it \(MAPPED PFN 0x[0-9a-f]+\) and no BLOCK, REMOVE or DEMOTE of it failed/)]);
    // Where a zap of it had failed (the window tdx.md §5.4 accepts), the same S-EPT leaf is allowed.
    const ref = c.ref.vm(vm.id)!;
    ref.zapFailed = new RangeMap();
    ref.zapFailed.set(1, 2, true);
    expect(messages(c, 'mirror-sept-agree')).toEqual([]);
  });

  test('a page pinned twice and unpinned once still refuses its conversion (uapi-unpin-drops-every-pin)', () => {
    const prefix = `
vm0 = KVM_CREATE_VM(type=SW_PROTECTED)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x4000, flags=MMAP|INIT_SHARED)
m0 = MMAP(g0, offset=0x0, size=0x4000, shared=1)
HOST_WRITE(m0, offset=0x1000, byte=0x77)
HOST_PIN(m0, offset=0x1000)
HOST_PIN(m0, offset=0x1000)
HOST_UNPIN(m0, offset=0x1000)`;
    const convert = '\nKVM_SET_MEMORY_ATTRIBUTES2(g0, offset=0x0, size=0x2000, attributes=PRIVATE, flags=0)';
    const steps = cleanSteps('inplace', prefix + convert);
    const c = steps[steps.length - 1];
    expect(c.ret).toEqual(err('EAGAIN'));
    expect(c.ref.now.refused?.errnos).toBe('any');
    expect(messages(withRet(c, ok()), 'errno-contract')).toEqual(['KVM_SET_MEMORY_ATTRIBUTES2 succeeded, but guest_memfd index 0x1 holds a long-term pin, which the conversion\'s reference-count check refuses (EAGAIN)']);
    // The last unpin frees the page for conversion, and so does a punch hole, which takes the pinned page out of the file.
    const unpinned = cleanSteps('inplace', prefix + '\nHOST_UNPIN(m0, offset=0x1000)' + convert);
    expect(unpinned[unpinned.length - 1].ref.now.refused).toBeUndefined();
    const punched = cleanSteps('inplace', prefix + '\nFALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x1000, len=0x1000)' + convert);
    expect(punched[punched.length - 1].ref.now.refused).toBeUndefined();
  });
});
