// frame-liveness is live: its seeded bugs are found from a fixed seed and
// shrunk, and the incremental check (not only the full sweep after a
// program's last step) catches a frame freed in the step that frees it.

import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { newRunWorld, runProgram, runStep } from '../../src/fuzz/runner.js';
import type { BugName } from '../../src/model/bugs.js';
import { huntTests } from './hunt.js';
import { frameLiveness } from '../../src/invariants/frame_liveness.js';
import type { CheckCtx } from '../../src/invariants/types.js';

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

// A punch hole and a write into anonymous memory: every frame allocated is
// owned by the page cache, the mapping or the TD.
const OWNED = `vm0 = KVM_CREATE_VM(type=TDX)
KVM_TDX_INIT_VM(vm0)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x400000, flags=0)
FALLOCATE(g0, mode=KEEP_SIZE, offset=0x0, len=0x4000)
FALLOCATE(g0, mode=PUNCH_HOLE|KEEP_SIZE, offset=0x1000, len=0x1000)
a0 = MMAP_ANON(size=0x2000)
HOST_WRITE(a0, offset=0x1000, byte=0x11)`;

/** The full sweep of frame-liveness over the world a program leaves, after `edit`. */
function sweepAfter(text: string, edit: (w: ReturnType<typeof runProgram>['world']) => void): string[] {
  const r = parseProgram(`# tdxfuzz program v1\n# profile: upstream\n${text}\n`, 'inline');
  if (!r.ok) throw new Error(r.error.message);
  const run = runProgram(r.program, { profile: 'upstream', bugs: [] });
  expect(run.violations).toEqual([]);
  edit(run.world);
  const last = run.steps[run.steps.length - 1];
  const ctx = { world: run.world, call: { op: last.call.op, handles: [], args: {} }, ret: last.result, step: run.world.step, full: true } as unknown as CheckCtx;
  return frameLiveness.check(ctx).map((v) => v.message);
}

describe('frame-liveness', () => {
  test('a frame allocated but owned by nothing (a leak) is caught by the full sweep', () => {
    expect(sweepAfter(OWNED, () => {})).toEqual([]);
    // Drop the anonymous page from its mapping without freeing it.
    const leaked = sweepAfter(OWNED, (w) => {
      for (const m of w.mappings.values()) if (m.kind === 'anon') m.anon.clear();
    });
    expect(leaked).toHaveLength(1);
    expect(leaked[0]).toMatch(/HOST_WRITE: PFN 0x[0-9a-f]+ is allocated but nothing owns it/);
    // Drop the TD's control pages from KVM and from the PAMT.
    const control = sweepAfter(OWNED, (w) => {
      for (const vm of w.vms.values()) if (vm.tdx) vm.tdx.controlPfns.length = 0;
      w.tdx.pamt.segs.length = 0;
    });
    expect(control[0]).toMatch(/is allocated but nothing owns it/);
  });

  huntTests(['frame-liveness']);
  test('a PAMT-assigned frame handed back to the host is caught in the step that frees it', () => {
    const r = firstViolation(FAILED_RECLAIM, ['teardown-frees-unreclaimed']);
    expect(r.index).toBe(2);
    expect(r.v?.message).toMatch(/CLOSE: PFN 0x[0-9a-f]+ was handed back to the host allocator while the PAMT assigns it to TD \d+ as (TDR|TDCS|TDCX)/);
    expect(firstViolation(FAILED_RECLAIM, []).index).toBe(-1);
  });
  test('a TD page KVM never reclaims, so the module keeps the TDR, is caught at teardown; a RECLAIM that failed is not', () => {
    const r = parseProgram(`# tdxfuzz program v1\n# profile: upstream\n${FAILED_RECLAIM.replace(' [busy=4]', '')}\n`, 'inline');
    if (!r.ok) throw new Error(r.error.message);
    const opts = { profile: 'upstream' as const, bugs: [], stopOnViolation: true };
    const w = newRunWorld(opts);
    const names = new Map<string, { value: number }>();
    const [create, init, close] = r.program.calls;
    expect([runStep(w, create, 0, names, opts), runStep(w, init, 1, names, opts)].flatMap((s) => s.violations)).toEqual([]);
    // KVM forgets the last TDCS page, as if tdx_reclaim_td_control_pages() stopped one short.
    const vm = [...w.vms.values()][0];
    const lost = vm.tdx!.controlPfns.pop()!;
    const s = runStep(w, close, 2, names, opts);
    expect(s.seamcalls.at(-1)).toMatchObject({ name: 'TDH.PHYMEM.PAGE.RECLAIM', pamtBefore: 'TDR', status: 'TDX_TD_ASSOCIATED_PAGES_EXIST' });
    expect(s.violations.filter((v) => v.invariant === 'frame-liveness').map((v) => v.message)).toEqual([
      expect.stringMatching(new RegExp(`^CLOSE: the RECLAIM of TD \\d+'s TDR PFN 0x[0-9a-f]+ was refused \\(TDX_TD_ASSOCIATED_PAGES_EXIST\\) with no failed RECLAIM before it: PFN 0x${lost.toString(16)} \\(TDCX\\) is still assigned to it and was never reclaimed$`)),
    ]);
    // When a RECLAIM failed first, KVM leaked that page on purpose and the TDR's refusal follows from it.
    const busy = parseProgram(`# tdxfuzz program v1\n# profile: upstream\n${FAILED_RECLAIM}\n`, 'inline');
    if (!busy.ok) throw new Error(busy.error.message);
    const failed = runProgram(busy.program, { profile: 'upstream', bugs: [] });
    expect(failed.steps[2].seamcalls.some((x) => x.name === 'TDH.PHYMEM.PAGE.RECLAIM' && x.status === 'TDX_TD_ASSOCIATED_PAGES_EXIST')).toBe(true);
    expect(failed.violations).toEqual([]);
  });

  test('an SPTE left on a frame that munmap freed is caught in that step', () => {
    const r = firstViolation(MUNMAP_LAST, ['munmap-keeps-last-spte']);
    expect(r.index).toBe(5);
    expect(r.v?.message).toMatch(/MUNMAP: vm\d+ shared SPTE at GFN 0x3 refers to PFN 0x[0-9a-f]+, which this step freed/);
    expect(firstViolation(MUNMAP_LAST, []).index).toBe(-1);
  });
});
