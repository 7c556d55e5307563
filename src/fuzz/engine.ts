// The fuzz loop on fast-check: search with endOnFailure, then replay the
// failing run by its path and let fast-check shrink it within a time budget,
// then hand the result to the program minimiser and pin every result.

import fc from 'fast-check';
import type { BugName } from '../model/bugs.js';
import { PROFILES, type ProfileName } from '../model/profiles.js';
import type { Program } from '../program/types.js';
import { materialize, type ACall } from './abstract.js';
import { firstFinding, type Finding } from './check.js';
import { minimize } from './minimize.js';
import { abstractProgramArb } from './program.js';
import { Stats } from './stats.js';

export interface FuzzOptions {
  profile: ProfileName;
  bugs: readonly BugName[];
  /** Count only violations of this invariant. */
  want?: string;
  seed: number;
  /** Stop after this many programs... */
  runs?: number;
  /** ...or after this many milliseconds. */
  timeMs?: number;
  maxCalls: number;
  /** Budget for fast-check's shrinking and for the minimiser, each. */
  shrinkMs?: number;
  stats?: Stats;
  onProgress?: (p: Progress) => void;
  /** Polled between programs; true stops the search (SIGINT). */
  stop?: () => boolean;
}

export interface Progress {
  runs: number;
  calls: number;
  elapsedMs: number;
}

export interface FuzzFinding extends Finding {
  program: Program;
  /** fast-check's path to the failing run, for `--seed S --path P` style replays. */
  path: string;
  unshrunkCalls: number;
  shrinkMs: number;
}

export interface FuzzResult {
  runs: number;
  calls: number;
  elapsedMs: number;
  interrupted: boolean;
  finding?: FuzzFinding;
}

export function fuzz(o: FuzzOptions): FuzzResult {
  const target = { profile: o.profile, bugs: o.bugs, want: o.want };
  const arb = abstractProgramArb({ settings: PROFILES[o.profile].settings, maxCalls: o.maxCalls });
  const start = Date.now();
  let runs = 0;
  let calls = 0;
  let lastTick = 0;
  let stopped = false;
  const search = fc.property(arb, (a: ACall[]) => {
    if (stopped || o.stop?.()) {
      stopped = true;
      return true;
    }
    const p = materialize(a);
    const { finding, report } = firstFinding(p, target);
    runs++;
    calls += report.steps.length;
    o.stats?.record(report);
    const now = Date.now();
    if (o.onProgress && now - lastTick > 200) {
      lastTick = now;
      o.onProgress({ runs, calls, elapsedMs: now - start });
    }
    return finding === null;
  });
  const details = fc.check(search, {
    seed: o.seed,
    numRuns: o.runs ?? 2 ** 31 - 1,
    interruptAfterTimeLimit: o.timeMs,
    markInterruptAsFailure: false,
    endOnFailure: true,
  });
  const base = { runs, calls, elapsedMs: Date.now() - start, interrupted: stopped || details.interrupted };
  if (!details.failed || !details.counterexample) return base;
  return { ...base, finding: shrink(o, details.counterexample[0] as ACall[], details.counterexamplePath ?? '') };
}

function shrink(o: FuzzOptions, first: ACall[], path: string): FuzzFinding {
  const target = { profile: o.profile, bugs: o.bugs, want: o.want };
  const t0 = Date.now();
  const budget = o.shrinkMs ?? 20_000;
  const original = firstFinding(materialize(first), target).finding!;
  const same = (a: ACall[]) => firstFinding(materialize(a), target).finding?.invariant === original.invariant;
  const arb = abstractProgramArb({ settings: PROFILES[o.profile].settings, maxCalls: o.maxCalls });
  let best = first;
  if (path) {
    const d = fc.check(fc.property(arb, (a: ACall[]) => !same(a)), {
      seed: o.seed, path, numRuns: 1, endOnFailure: false, interruptAfterTimeLimit: budget, markInterruptAsFailure: false,
    });
    if (d.failed && d.counterexample) best = d.counterexample[0] as ACall[];
  }
  const oracle = (p: Program) => {
    const f = firstFinding(p, target).finding;
    return f && f.invariant === original.invariant ? f.index : -1;
  };
  const { program } = minimize(materialize(best), oracle, Date.now() + budget);
  const final = firstFinding(program, target);
  const f = final.finding ?? original;
  const pinned: Program = {
    headers: program.headers,
    calls: program.calls.map((c, i) => ({ ...c, expect: final.report.steps[i]?.result })),
  };
  return { ...f, program: pinned, path, unshrunkCalls: materialize(first).calls.length, shrinkMs: Date.now() - t0 };
}
