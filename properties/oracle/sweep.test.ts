// Full sweeps cannot be fooled by a model path that forgets its bookkeeping.
// A test-only runner erases everything a step records for the incremental
// checks (touched GFNs, PFNs, VMs and files, first exposures, freed frames,
// host accesses) before the invariants look: with only incremental checks
// the seeded bug goes unseen; with the runner's sweep after the last step it
// is found all the same. (A bug that is only visible in the middle of a step,
// such as punch-frees-before-zap, leaves no trace in the state a sweep sees;
// no-dangling-sept keeps catching it from the step's own record of frees.)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { execCall } from '../../src/model/exec.js';
import { newWorld, type StepCtx } from '../../src/model/world.js';
import { PROFILES, type ProfileName } from '../../src/model/profiles.js';
import { isBugName, type BugName } from '../../src/model/bugs.js';
import { toExecCall } from '../../src/fuzz/runner.js';
import { takeBefore } from '../../src/invariants/before.js';
import { checkAll } from '../../src/invariants/registry.js';
import { stepTrace } from '../../src/invariants/trace.js';
import { Oracle } from '../../src/oracle/index.js';
import { parseProgram } from '../../src/program/parser.js';
import type { Program } from '../../src/program/types.js';

/** Erase the step's bookkeeping, as a model path that never records anything would. */
function forget(step: StepCtx): void {
  step.touched = { gfns: [], pfns: new Set(), vms: new Set(), gmems: new Set() };
  step.firstExposures = [];
  step.freedSeq = [];
  step.hostAccesses = [];
}

/** Run a program with forgetful bookkeeping; `sweep` says which steps get a full sweep. Returns the invariants violated. */
function runForgetful(p: Program, profile: ProfileName, bugs: BugName[], sweep: (i: number, last: boolean) => boolean): Set<string> {
  const w = newWorld(PROFILES[profile], new Set(bugs));
  const ref = new Oracle(w.profile.settings);
  const names = new Map<string, { value: number }>();
  const seen = new Set<string>();
  p.calls.forEach((call, i) => {
    const ec = toExecCall(call, names, w);
    const before = takeBefore(w, ec);
    const r = execCall(w, ec, stepTrace(w));
    if (call.bind) names.set(call.bind, { value: r.ret.handle ?? -1 });
    forget(r.step);
    ref.observe(w, ec, r.ret, r.step);
    const full = sweep(i, i === p.calls.length - 1);
    for (const v of checkAll({ world: w, call: ec, ret: r.ret, step: r.step, before, exception: r.exception, full, ref })) seen.add(v.invariant);
  });
  return seen;
}

function load(file: string): { program: Program; profile: ProfileName; bugs: BugName[]; invariant: string } {
  const text = file in INLINE ? INLINE[file] : readFileSync(join(import.meta.dirname, '..', '..', 'corpus', 'found', file), 'utf8');
  const r = parseProgram(text, file);
  if (!r.ok) throw new Error(r.error.message);
  const header = (k: string) => r.program.headers.find(([key]) => key === k)?.[1] ?? '';
  return { program: r.program, profile: header('profile') as ProfileName, bugs: header('bugs').split(',').map((s) => s.trim()).filter(isBugName), invariant: header('invariant') };
}

/**
 * skip-zero-on-fault through a host fault: the stale page is exposed to the
 * host, and no first exposure is recorded. (Its corpus finding exposes the
 * page to a TD through TDH.MEM.PAGE.AUG, which zero-before-exposure now
 * judges from the SEAMCALL log as the step runs, bookkeeping or not.)
 */
const INLINE: Record<string, string> = {
  'host fault of a punched page': `# tdxfuzz program v1
# profile: upstream
# bugs: skip-zero-on-fault
# invariant: zero-before-exposure
vm0 = KVM_CREATE_VM(type=DEFAULT)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x1000, flags=MMAP|INIT_SHARED)
m0 = MMAP(g0, offset=0x0, size=0x1000, shared=1)
HOST_WRITE(m0, offset=0x0, byte=0x5a)
FALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x0, len=0x1000)
HOST_READ(m0, offset=0x0)
`,
};

const CASES = [
  'mirror-sept-agree-6bab630e.prog', // mirror-leaf-kept: a zap leaves the mirror leaf, and no touched GFN says where
  'host fault of a punched page', // skip-zero-on-fault: a stale page exposed, and no first exposure recorded
  'attr-consistency-446aca3e.prog', // conversion-skips-zap: leaves outlive a conversion, and no touched GFN says where
];

describe('a model path that forgets its bookkeeping is still caught by the full sweep', () => {
  test.each(CASES)('%s', (file) => {
    const c = load(file);
    expect(c.bugs.length).toBe(1);
    const incrementalOnly = runForgetful(c.program, c.profile, c.bugs, () => false);
    expect(incrementalOnly.has(c.invariant), `${c.invariant} found without any sweep`).toBe(false);
    const withSweep = runForgetful(c.program, c.profile, c.bugs, (_i, last) => last);
    expect([...withSweep]).toContain(c.invariant);
    // And the same forgetful run is clean without the bug.
    expect([...runForgetful(c.program, c.profile, [], (_i, last) => last)]).toEqual([]);
  });
});
