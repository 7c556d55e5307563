// The oracle's set of private pages a TD holds (src/oracle/accepted.ts) and
// the content-integrity rule on it: a private access to a page the guest
// accepted, or that INIT_MEM_REGION added, must not fail until an event the
// semantics name takes the page away. Each case runs a program on the sound
// model; the last step's answer is then replaced by a failure, as a model
// that lost the page would give, and content-integrity must say so exactly
// when the page is still held.

import { describe, expect, test } from 'vitest';
import type { ProfileName } from '../../src/model/profiles.js';
import { err, type Ret } from '../../src/model/result.js';
import { HUGE_TD as HELD_HUGE, lastStep, messagesOf, TD } from './steps.js';

const HUGE_TD = `${HELD_HUGE}
GUEST_ACCEPT(cpu0, gpa=0x0, level=2M)
GUEST_ACCESS(cpu0, gpa=0x1ff000, private=1, write=1, byte=0x5a)`;

const ADDED_TD = `${TD}
src0 = MMAP_ANON(size=0x1000)
HOST_WRITE(src0, offset=0x0, byte=0x77)
KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x3000, nr_pages=1, flags=MEASURE)
KVM_TDX_FINALIZE_VM(vm0)`;

interface Outcome {
  /** What the model answered at the last step. */
  answer: Ret;
  /** Violations of the last step as the model answered. */
  clean: string[];
  /** content-integrity messages of the last step once its answer is replaced by EIO. */
  lost: string[];
}

function run(profile: ProfileName, text: string): Outcome {
  const last = lastStep(profile, text, 'accepted.test');
  return { answer: last.ctx.ret, clean: last.violations, lost: messagesOf({ ...last.ctx, ret: err('EIO') }, 'content-integrity') };
}

const read = (gpa: string) => `\nGUEST_ACCESS(cpu0, gpa=${gpa}, private=1, write=0)`;

describe('a private page the guest holds stays reachable (content-integrity)', () => {
  test('the last page of a huge leaf, after every other page was converted to shared', () => {
    const o = run('hugepage', HUGE_TD + '\nKVM_SET_MEMORY_ATTRIBUTES2(g0, offset=0x0, size=0x1ff000, attributes=0, flags=0)' + read('0x1ff000'));
    expect(o.clean).toEqual([]);
    expect(o.answer).toEqual({ kind: 'int', value: 0x5an });
    expect(o.lost).toHaveLength(1);
    expect(o.lost[0]).toMatch(/GUEST_ACCESS of GPA 0x1ff000 \(private\) answered EIO, but the TD holds GFN 0x1ff \(accepted or added\)/);
  });

  test('a page INIT_MEM_REGION added, once the TD runs', () => {
    const o = run('upstream', ADDED_TD + read('0x3000'));
    expect(o.clean).toEqual([]);
    expect(o.answer).toEqual({ kind: 'int', value: 0x77n });
    expect(o.lost).toHaveLength(1);
  });

  test('a page accepted at 4 KiB by a TD without huge pages', () => {
    const o = run('upstream', ADDED_TD + '\nGUEST_ACCEPT(cpu0, gpa=0x5000, level=4K)' + read('0x5000'));
    expect(o.clean).toEqual([]);
    expect(o.lost).toHaveLength(1);
  });

  // Each event below takes the page away: a failure afterwards is no loss.
  test.each([
    ['a conversion of the page itself', 'hugepage', HUGE_TD + '\nKVM_SET_MEMORY_ATTRIBUTES2(g0, offset=0x1ff000, size=0x1000, attributes=0, flags=0)', '0x1ff000'],
    ['a punch hole over it', 'hugepage', HUGE_TD + '\nFALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x1ff000, len=0x1000)', '0x1ff000'],
    ['a per-VM conversion', 'upstream', ADDED_TD + '\nKVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x3000, size=0x1000, attributes=0, flags=0)', '0x3000'],
    ['the memslot deleted', 'upstream', ADDED_TD + '\nKVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x0, uaddr=0x0, gmem=g0, offset=0x0)', '0x3000'],
  ] as const)('not after %s', (_what, profile, text, gpa) => {
    const o = run(profile, text + read(gpa));
    expect(o.clean).toEqual([]);
    expect(o.lost).toEqual([]);
  });

  test('not for a page never accepted, nor for a TD that does not run yet', () => {
    expect(run('upstream', ADDED_TD + read('0x4000')).lost).toEqual([]);
    expect(run('upstream', ADDED_TD.replace('KVM_TDX_FINALIZE_VM(vm0)', '') + read('0x3000')).lost).toEqual([]);
  });
});
