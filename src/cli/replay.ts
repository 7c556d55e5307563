// `tdxfuzz replay FILE... [--profile NAME] [--bug NAME]... [--json]`: run
// each program on a fresh model, print every call with its actual result,
// every invariant violation and every expectation that did not hold.

import { printCall, printResult } from '../program/printer.js';
import { loadProgram } from '../program/load.js';
import { sameResult } from '../model/result.js';
import { programSetup, replayProgram, type ReplayOutcome, type SetupOptions } from '../replay/replay.js';
import { EXIT_FOUND, EXIT_OK } from './errors.js';
import { jsonLine } from './json.js';
import { parseTarget, replayKernelCommand } from './kernel_replay.js';

export interface ReplayOptions extends SetupOptions {
  json?: boolean;
  /** `kernel`: run on /dev/kvm beside the model (src/cli/kernel_replay.ts). */
  target?: string;
  executor?: string;
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
