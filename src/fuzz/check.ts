// Running a concrete program for the fuzzer: the first violation, if any,
// with the step it happened at. Invariants are checked after every step.

import type { BugName } from '../model/bugs.js';
import type { ProfileName } from '../model/profiles.js';
import type { Program } from '../program/types.js';
import { runProgram, type RunReport } from './runner.js';
import type { Coverage } from './coverage.js';

export interface Finding {
  index: number;
  invariant: string;
  message: string;
}

export interface Target {
  profile: ProfileName;
  bugs: readonly BugName[];
  /** Only these invariants count as a finding (used to prove a seeded bug trips its own invariant; `fuzz --want`). */
  want?: string | readonly string[];
  coverage?: Coverage;
}

export function firstFinding(p: Program, t: Target): { finding: Finding | null; report: RunReport } {
  const report = runProgram(p, { profile: t.profile, bugs: t.bugs, stopOnViolation: t.want === undefined, onStep: t.coverage ? (c, s) => t.coverage!.observe(c, s) : undefined });
  for (const s of report.steps) {
    const v = s.violations.find((x) => t.want === undefined || (typeof t.want === 'string' ? x.invariant === t.want : t.want.includes(x.invariant)));
    if (v) return { finding: { index: s.index, invariant: v.invariant, message: v.message }, report };
  }
  return { finding: null, report };
}

/** The program with every call's expectation set to what it returns now: a regression with all results pinned. */
export function pinResults(p: Program, report: RunReport): Program {
  return { headers: p.headers, calls: p.calls.map((c, i) => ({ ...c, expect: report.steps[i]?.result })) };
}
