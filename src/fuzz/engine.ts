// The fuzz loop: run program after program of the stream, checking every
// invariant after every step; on a violation, let fast-check shrink the
// failing program (replayed from its own seed) within a budget, then hand it
// to the program minimiser and pin every result.

import fc from 'fast-check';
import type { BugName } from '../model/bugs.js';
import type { ProfileName } from '../model/profiles.js';
import type { Program } from '../program/types.js';
import { materialize, type ACall } from './abstract.js';
import { firstFinding, pinResults, type Finding } from './check.js';
import { minimize, minimizeAsync } from './minimize.js';
import { NO_SHARD, programArb, programAt, programSeed, shardIndex, type Shard } from './stream.js';
import type { Stats } from './stats.js';
import type { Coverage } from './coverage.js';
import { driveSync, driveYielding } from './drive.js';

export interface FuzzOptions {
  profile: ProfileName;
  bugs: readonly BugName[];
  /** Count only violations of this invariant (or of these). */
  want?: string | readonly string[];
  seed: number;
  /** Stop after this many programs of the shard... */
  runs?: number;
  /** ...or after this many milliseconds. */
  timeMs?: number;
  maxCalls: number;
  shard?: Shard;
  /** Budget for fast-check's shrinking and for the minimiser, each. */
  shrinkMs?: number;
  stats?: Stats;
  coverage?: Coverage;
  onProgress?: (p: Progress) => void;
  /** Polled before each program with its global index; true stops the search (SIGINT, or a lower finding elsewhere). */
  stop?: (index: number) => boolean;
}

export interface Progress {
  runs: number;
  calls: number;
  elapsedMs: number;
}

export interface FuzzFinding extends Finding {
  program: Program;
  /** Global index of the failing program in the stream of this seed. */
  programIndex: number;
  unshrunkCalls: number;
  shrinkMs: number;
  /** False when shrinking ran out of budget and the program is only partly shrunk. */
  shrunk: boolean;
}

export interface SearchResult {
  runs: number;
  calls: number;
  elapsedMs: number;
  interrupted: boolean;
  /** Global index of the first failing program, if any. */
  foundAt?: number;
}

export interface FuzzResult extends SearchResult {
  finding?: FuzzFinding;
}

/**
 * Run the shard's programs k = first, first + step, ... in order, stopping at
 * the first finding. A generator, so the same loop serves the synchronous
 * search of workers and tests and the asynchronous one of the command line,
 * which yields to the event loop so SIGINT is seen between programs.
 */
function* searchSteps(o: FuzzOptions, first: number, step: number): Generator<void, SearchResult> {
  const shard = o.shard ?? NO_SHARD;
  const target = { profile: o.profile, bugs: o.bugs, want: o.want, coverage: o.coverage };
  const start = Date.now();
  const deadline = o.timeMs !== undefined ? start + o.timeMs : Infinity;
  let runs = 0;
  let calls = 0;
  let lastTick = 0;
  for (let k = first; o.runs === undefined || k < o.runs; k += step) {
    const i = shardIndex(shard, k);
    if (o.stop?.(i)) return { runs, calls, elapsedMs: Date.now() - start, interrupted: true };
    if (Date.now() >= deadline) break;
    const { finding, report } = firstFinding(materialize(programAt(o.profile, o.maxCalls, o.seed, i)), target);
    runs++;
    calls += report.steps.length;
    o.stats?.record(report);
    const now = Date.now();
    if (o.onProgress && now - lastTick > 200) {
      lastTick = now;
      o.onProgress({ runs, calls, elapsedMs: now - start });
    }
    if (finding) return { runs, calls, elapsedMs: now - start, interrupted: false, foundAt: i };
    yield;
  }
  return { runs, calls, elapsedMs: Date.now() - start, interrupted: false };
}

export function search(o: FuzzOptions, first = 0, step = 1): SearchResult {
  return driveSync(searchSteps(o, first, step));
}

/** The same search, giving the event loop a turn every 50 ms. */
export async function searchAsync(o: FuzzOptions, first = 0, step = 1): Promise<SearchResult> {
  return driveYielding(searchSteps(o, first, step));
}

export function fuzz(o: FuzzOptions): FuzzResult {
  const r = search(o);
  if (r.foundAt === undefined) return r;
  return { ...r, finding: shrinkFinding(o, r.foundAt) };
}

/** What an interrupted shrink needs: a way to stop, and every smaller failing program as it is found. */
export interface ShrinkHooks {
  stop?: () => boolean;
  onBest?: (p: Program) => void;
}

function shrinkSetup(o: FuzzOptions, i: number) {
  const target = { profile: o.profile, bugs: o.bugs, want: o.want };
  const first = programAt(o.profile, o.maxCalls, o.seed, i);
  const original = firstFinding(materialize(first), target).finding!;
  const same = (a: ACall[]) => firstFinding(materialize(a), target).finding?.invariant === original.invariant;
  const oracle = (p: Program) => {
    const f = firstFinding(p, target).finding;
    return f && f.invariant === original.invariant ? f.index : -1;
  };
  const checkOptions = { seed: programSeed(o.seed, i), numRuns: 1, endOnFailure: false, interruptAfterTimeLimit: o.shrinkMs ?? 20_000, markInterruptAsFailure: false };
  return { target, first, original, same, oracle, checkOptions, budget: o.shrinkMs ?? 20_000 };
}

function shrinkResult(o: FuzzOptions, i: number, s: ReturnType<typeof shrinkSetup>, program: Program, t0: number, complete: boolean): FuzzFinding {
  const final = firstFinding(program, s.target);
  const f = final.finding ?? s.original;
  const pinned = pinResults(program, final.report);
  return {
    ...f, program: pinned, programIndex: i, unshrunkCalls: materialize(s.first).calls.length,
    shrinkMs: Date.now() - t0, shrunk: complete,
  };
}

/** Shrink the program at global index `i`: fast-check first, then the minimiser. */
export function shrinkFinding(o: FuzzOptions, i: number): FuzzFinding {
  const t0 = Date.now();
  const s = shrinkSetup(o, i);
  const d = fc.check(fc.property(programArb(o.profile, o.maxCalls), (a: ACall[]) => !s.same(a)), s.checkOptions);
  const best = d.failed && d.counterexample ? (d.counterexample[0] as ACall[]) : s.first;
  const deadline = Date.now() + s.budget;
  const { program } = minimize(materialize(best), s.oracle, deadline);
  return shrinkResult(o, i, s, program, t0, !d.interrupted && Date.now() < deadline);
}

/**
 * The same shrink for the command line: it gives the event loop a turn every
 * 50 ms, stops when `hooks.stop()` says so with the best program so far, and
 * reports every improvement through `hooks.onBest`.
 */
export async function shrinkFindingAsync(o: FuzzOptions, i: number, hooks: ShrinkHooks = {}): Promise<FuzzFinding> {
  const t0 = Date.now();
  const s = shrinkSetup(o, i);
  let turn = Date.now();
  const prop = fc.asyncProperty(programArb(o.profile, o.maxCalls), async (a: ACall[]) => {
    if (Date.now() - turn > 50) {
      await new Promise((res) => setImmediate(res));
      turn = Date.now();
    }
    // Once stopped, an interrupting precondition failure ends fast-check at its best so far.
    if (hooks.stop?.()) throw new fc.PreconditionFailure(true);
    const failing = s.same(a);
    if (failing) hooks.onBest?.(materialize(a));
    return !failing;
  });
  const d = await fc.check(prop, s.checkOptions);
  let best = d.failed && d.counterexample ? (d.counterexample[0] as ACall[]) : s.first;
  // Cut short early, fast-check's candidate may still be longer than where it started.
  if (hooks.stop?.() && materialize(best).calls.length > materialize(s.first).calls.length) best = s.first;
  const deadline = Date.now() + s.budget;
  const { program } = await minimizeAsync(materialize(best), s.oracle, deadline, hooks);
  return shrinkResult(o, i, s, program, t0, !d.interrupted && Date.now() < deadline && !hooks.stop?.());
}
