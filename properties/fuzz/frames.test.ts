// frame-liveness is live: its seeded bugs are found from a fixed seed and
// shrunk, and the incremental check (not only the full sweep after a
// program's last step) catches a frame freed in the step that frees it.

import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { runProgram } from '../../src/fuzz/runner.js';
import type { BugName } from '../../src/model/bugs.js';
import { huntTests } from './hunt.js';

/** Run a program with a harmless call after it, so the step in question is checked incrementally. */
function firstViolation(text: string, bugs: BugName[]) {
  const src = `# tdxfuzz program v1\n# profile: upstream\n${text}\nspare = MMAP_ANON(size=0x1000)\n`;
  const r = parseProgram(src, 'inline');
  if (!r.ok) throw new Error('bad program');
  const run = runProgram(r.program, { profile: 'upstream', bugs, stopOnViolation: true });
  return { index: run.firstViolation, v: run.violations.find((x) => x.invariant === 'frame-liveness') };
}

// The fourth SEAMCALL of this teardown (after VPFLUSHDONE, CACHE.WB and
// KEY.FREEID) is the RECLAIM of the first TDCS page: make it fail once.
const FAILED_RECLAIM = `vm0 = KVM_CREATE_VM(type=TDX)
KVM_TDX_INIT_VM(vm0)
CLOSE(vm0) [busy=4]`;

const MUNMAP_LAST = `vm0 = KVM_CREATE_VM(type=DEFAULT)
src0 = MMAP_ANON(size=0x4000)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=0, gpa=0x0, size=0x200000, uaddr=src0+0x0, gmem=-1, offset=0x0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_PRE_FAULT_MEMORY(cpu0, gpa=0x2000, size=0x2000, flags=0x0)
MUNMAP(src0)`;

describe('frame-liveness', () => {
  huntTests(['frame-liveness']);
  test('a PAMT-assigned frame handed back to the host is caught in the step that frees it', () => {
    const r = firstViolation(FAILED_RECLAIM, ['teardown-frees-unreclaimed']);
    expect(r.index).toBe(2);
    expect(r.v?.message).toMatch(/CLOSE: PFN 0x[0-9a-f]+ was handed back to the host allocator while the PAMT assigns it to TD \d+ as (TDR|TDCS|TDCX)/);
    expect(firstViolation(FAILED_RECLAIM, []).index).toBe(-1);
  });
  test('an SPTE left on a frame that munmap freed is caught in that step', () => {
    const r = firstViolation(MUNMAP_LAST, ['munmap-keeps-last-spte']);
    expect(r.index).toBe(5);
    expect(r.v?.message).toMatch(/MUNMAP: vm\d+ shared SPTE at GFN 0x3 refers to PFN 0x[0-9a-f]+, which this step freed/);
    expect(firstViolation(MUNMAP_LAST, []).index).toBe(-1);
  });
});
