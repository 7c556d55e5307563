// `tdxfuzz replay FILE... [--profile NAME] [--bug NAME]... [--json]`: run
// each program on a fresh model, print every call with its actual result,
// every invariant violation and every expectation that did not hold.

import { header, headerBugs, type Program } from '../program/types.js';
import { printCall, printResult } from '../program/printer.js';
import { runProgram, type RunReport } from '../fuzz/runner.js';
import { sameResult } from '../model/result.js';
import type { BugName } from '../model/bugs.js';
import type { ProfileName } from '../model/profiles.js';
import { loadProgram } from './load.js';
import { parseBugs, parseProfile, profilesForBugs } from './options.js';
import { EXIT_FOUND, EXIT_OK } from './errors.js';
import { jsonLine } from './json.js';
import { parseTarget, replayKernelCommand } from './kernel_replay.js';
import { programNames, type Renamer } from '../report/names.js';

export interface ReplayOptions {
  profile?: string;
  bug?: string[];
  json?: boolean;
  /** `kernel`: run on /dev/kvm beside the model (src/cli/kernel_replay.ts). */
  target?: string;
  executor?: string;
}

export interface ReplayOutcome {
  report: RunReport;
  /** Model object names to the program's handle names, for messages. */
  rename: Renamer;
  mismatches: number[];
  profile: ProfileName;
  bugs: BugName[];
}

/** The profile and bugs a program runs under: the command line wins over its headers. */
export function programSetup(p: Program, opts: ReplayOptions): { profile: ProfileName; bugs: BugName[] } {
  const bugs = opts.bug && opts.bug.length > 0 ? parseBugs(opts.bug) : parseBugs(headerBugs(p));
  const named = opts.profile ?? header(p, 'profile');
  // No profile named anywhere: the bugs' own profile; a bug that cannot fire is an error.
  const profile = profilesForBugs(named === undefined ? undefined : [parseProfile(named)], bugs).profiles[0];
  return { profile, bugs };
}

export function replayProgram(p: Program, opts: ReplayOptions): ReplayOutcome {
  const { profile, bugs } = programSetup(p, opts);
  const report = runProgram(p, { profile, bugs });
  const mismatches = report.steps.filter((s) => s.call.expect && !sameResult(s.call.expect, s.result)).map((s) => s.index);
  const rename = report.violations.length > 0 ? programNames(p, { profile, bugs }) : (s: string) => s;
  return { report, mismatches, profile, bugs, rename };
}

export function replayCommand(files: string[], opts: ReplayOptions, out: (s: string) => void): number {
  if (parseTarget(opts.target) === 'kernel') return replayKernelCommand(files, opts, out);
  // Load (and validate) every file before running any, so bad input runs nothing.
  const programs = files.map((f) => ({ file: f === '-' ? '<stdin>' : f, program: loadProgram(f) }));
  for (const { program } of programs) programSetup(program, opts);
  let failed = false;
  for (const { file, program } of programs) {
    const r = replayProgram(program, opts);
    const ok = r.mismatches.length === 0 && r.report.violations.length === 0;
    failed ||= !ok;
    if (opts.json) printJson(file, r, ok, out);
    else printText(file, r, ok, out);
  }
  return failed ? EXIT_FOUND : EXIT_OK;
}

function printText(file: string, r: ReplayOutcome, ok: boolean, out: (s: string) => void): void {
  out(`== ${file} (profile ${r.profile}${r.bugs.length ? `, bugs ${r.bugs.join(',')}` : ''})`);
  for (const s of r.report.steps) {
    const expect = s.call.expect;
    const mismatch = expect && !sameResult(expect, s.result);
    const text = printCall({ ...s.call, expect: undefined });
    out(`${String(s.index).padStart(3)}  ${text} -> ${printResult(s.result)}${mismatch ? `   MISMATCH: expected ${printResult(expect)}` : ''}`);
    for (const v of s.violations) out(`       ! ${v.invariant}: ${r.rename(v.message)}`);
  }
  const n = r.report.steps.length;
  out(`${ok ? 'PASS' : 'FAIL'} ${file}: ${n} calls, ${r.mismatches.length} expectation(s) failed, ${r.report.violations.length} violation(s)`);
}

function printJson(file: string, r: ReplayOutcome, ok: boolean, out: (s: string) => void): void {
  for (const s of r.report.steps) {
    out(jsonLine({
      index: s.index,
      call: printCall({ ...s.call, expect: undefined }),
      result: printResult(s.result),
      ...(s.call.expect ? { expected: printResult(s.call.expect) } : {}),
      ...s.out,
      seamcalls: s.seamcalls.map((c) => ({ name: c.name, args: c.args, status: c.status })),
      violations: s.violations.map((v) => ({ ...v, message: r.rename(v.message) })),
    }));
  }
  out(jsonLine({
    summary: true, file, profile: r.profile, bugs: r.bugs, calls: r.report.steps.length,
    mismatches: r.mismatches, violations: r.report.violations.length, ok,
  }));
}
