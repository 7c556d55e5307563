// Design diff: run the same programs under two profiles and look for the
// first whose observable results (return values, errnos, outcomes, bytes
// read) differ; shrink it while it still differs.

import { materialize } from './abstract.js';
import { minimize } from './minimize.js';
import { programAt, shardIndex, NO_SHARD } from './stream.js';
import { runProgram } from './runner.js';
import { resultText, type Result } from '../model/result.js';
import type { ProfileName } from '../model/profiles.js';
import type { Program } from '../program/types.js';

export interface DiffOptions {
  a: ProfileName;
  b: ProfileName;
  seed: number;
  runs?: number;
  timeMs?: number;
  maxCalls: number;
  stop?: () => boolean;
}

export interface DiffFound {
  program: Program;
  /** The first call whose results differ. */
  index: number;
  resultsA: Result[];
  resultsB: Result[];
  programIndex: number;
  unshrunkCalls: number;
}

export interface DiffResult {
  runs: number;
  elapsedMs: number;
  found?: DiffFound;
}

/** Results of every call of `p` under a profile; the model alone, no invariants. */
export function observe(p: Program, profile: ProfileName): Result[] {
  return runProgram(p, { profile, bugs: [], noInvariants: true }).steps.map((s) => s.result);
}

export function firstDifference(ra: Result[], rb: Result[]): number {
  const n = Math.max(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const x = ra[i];
    const y = rb[i];
    if (!x || !y || resultText(x) !== resultText(y)) return i;
  }
  return -1;
}

export function diffSearch(o: DiffOptions): DiffResult {
  const start = Date.now();
  const deadline = o.timeMs !== undefined ? start + o.timeMs : Infinity;
  let runs = 0;
  for (let k = 0; o.runs === undefined || k < o.runs; k++) {
    if (Date.now() >= deadline || o.stop?.()) break;
    const i = shardIndex(NO_SHARD, k);
    const p = materialize(programAt(o.a, o.maxCalls, o.seed, i));
    runs++;
    if (firstDifference(observe(p, o.a), observe(p, o.b)) < 0) continue;
    const oracle = (q: Program) => firstDifference(observe(q, o.a), observe(q, o.b));
    const { program } = minimize(p, oracle, Date.now() + 20_000);
    const resultsA = observe(program, o.a);
    const resultsB = observe(program, o.b);
    return {
      runs, elapsedMs: Date.now() - start,
      found: { program, index: firstDifference(resultsA, resultsB), resultsA, resultsB, programIndex: i, unshrunkCalls: p.calls.length },
    };
  }
  return { runs, elapsedMs: Date.now() - start };
}
