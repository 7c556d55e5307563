// Run a program step by step the way the runner does (model, oracle, every
// invariant) and hand back each step's checked context with its violations,
// so a test can alter a step's answer afterwards and ask the invariants again.

import { expect } from 'vitest';
import { execCall } from '../../src/model/exec.js';
import { newWorld } from '../../src/model/world.js';
import { PROFILES, type ProfileName } from '../../src/model/profiles.js';
import { toExecCall } from '../../src/fuzz/runner.js';
import { takeBefore } from '../../src/invariants/before.js';
import { checkAll } from '../../src/invariants/registry.js';
import { stepTrace } from '../../src/invariants/trace.js';
import type { CheckCtx } from '../../src/invariants/types.js';
import { Oracle } from '../../src/oracle/index.js';
import { parseProgram } from '../../src/program/parser.js';

export interface CheckedStep {
  ctx: CheckCtx;
  /** `invariant: message` of each violation the step had as the model answered. */
  violations: string[];
}

export function checkedSteps(profile: ProfileName, text: string, file: string): CheckedStep[] {
  const r = parseProgram(text.trim(), file);
  if (!r.ok) throw new Error(r.error.message);
  const w = newWorld(PROFILES[profile], new Set());
  const ref = new Oracle(w.profile.settings);
  const names = new Map<string, { value: number }>();
  return r.program.calls.map((call) => {
    const ec = toExecCall(call, names, w);
    const before = takeBefore(w, ec);
    const x = execCall(w, ec, stepTrace(w));
    if (call.bind) names.set(call.bind, { value: x.ret.handle ?? -1 });
    ref.observe(w, ec, x.ret, x.step);
    const ctx: CheckCtx = { world: w, call: ec, ret: x.ret, step: x.step, before, exception: x.exception, full: false, ref };
    return { ctx, violations: checkAll(ctx).map((v) => `${v.invariant}: ${v.message}`) };
  });
}

/** Run a program whose steps before the last must be clean; the last step as the model answered it. */
export function lastStep(profile: ProfileName, text: string, file: string): CheckedStep {
  const steps = checkedSteps(profile, text, file);
  steps.slice(0, -1).forEach((s, i) => expect(s.violations, `step ${i}`).toEqual([]));
  return steps[steps.length - 1];
}

/** The messages one invariant gives for a (possibly altered) step. */
export const messagesOf = (c: CheckCtx, id: string): string[] => checkAll(c).filter((v) => v.invariant === id).map((v) => v.message);

/** A RUNNABLE TD (profile hugepage) whose first 2 MiB of a HugeTLB guest_memfd are pre-faulted as one private leaf. */
export const HUGE_TD = `
vm0 = KVM_CREATE_VM(type=TDX)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x400000, flags=HUGETLB_2M)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x400000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)
KVM_SET_MEMORY_ATTRIBUTES2(g0, offset=0x0, size=0x400000, attributes=PRIVATE, flags=0)
KVM_TDX_FINALIZE_VM(vm0)
KVM_PRE_FAULT_MEMORY(cpu0, gpa=0x0, size=0x200000, flags=0)`;

/** An INITIALIZED TD (any profile with per-VM attributes) with one vCPU and 4 MiB of private guest_memfd at GPA 0. */
export const TD = `
vm0 = KVM_CREATE_VM(type=TDX)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x400000, flags=0)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x400000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)
KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x400000, attributes=PRIVATE, flags=0)`;
