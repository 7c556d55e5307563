// Runs a program against a fresh model: resolves handles and addresses, runs
// each call, and checks every registered invariant after every step.

import type { Call, Program, Value } from '../program/types.js';
import type { Op } from '../program/calls.js';
import { execCall, type ExecCall } from '../model/exec.js';
import { PROFILES, type ProfileName } from '../model/profiles.js';
import type { BugName } from '../model/bugs.js';
import type { Ret } from '../model/result.js';
import type { SeamcallRecord } from '../model/tdx/seamcall.js';
import { newWorld, type World } from '../model/world.js';
import { takeBefore } from '../invariants/before.js';
import { checkAll } from '../invariants/registry.js';
import { stepTrace } from '../invariants/trace.js';
import type { CheckCtx, Violation } from '../invariants/types.js';
import { Oracle } from '../oracle/index.js';

export interface RunOptions {
  profile: ProfileName;
  bugs: readonly BugName[];
  /** Skip invariant checks (the bare-model speed baseline). */
  noInvariants?: boolean;
  /** Stop after the first step with a violation. */
  stopOnViolation?: boolean;
  /**
   * Bench only, to show what each check costs: leave out the whole-state
   * image (errno-contract then checks errnos and SEAMCALLs but not the
   * unchanged state), or the full sweeps. Nothing else sets these.
   */
  costOf?: { noStateImage?: boolean; noSweeps?: boolean };
  /** Called after every checked step (state coverage). */
  onStep?: (c: CheckCtx, s: StepReport) => void;
}

export interface StepReport {
  index: number;
  call: Call;
  result: Ret;
  out: Record<string, bigint>;
  seamcalls: SeamcallRecord[];
  violations: Violation[];
  exception?: string;
}

export interface RunReport {
  steps: StepReport[];
  world: World;
  violations: Violation[];
  /** Index of the first step with a violation, or -1. */
  firstViolation: number;
}

/** How often (in steps) the runner asks every invariant for a full sweep; bench prints it. */
export const SWEEP_EVERY = 32;

/** A host address no mapping ever has: where a failed mapping's `+offset` points. */
const NOWHERE = 0xdead000000000000n;

/** The reference state of each world, fed after every checked step. */
const oracles = new WeakMap<World, Oracle>();

function oracleOf(w: World): Oracle {
  let o = oracles.get(w);
  if (!o) oracles.set(w, (o = new Oracle(w.profile.settings)));
  return o;
}

interface Bound {
  value: number;
}

function resolveValue(v: Value, names: Map<string, Bound>, w: World): bigint {
  if (v.kind === 'int') return v.value;
  const b = names.get(v.name);
  if (v.kind === 'handle') return BigInt(b?.value ?? -1);
  const m = b ? w.mappings.get(b.value) : undefined;
  return (m ? m.va : NOWHERE) + v.offset;
}

export function toExecCall(call: Call, names: Map<string, Bound>, w: World): ExecCall<Op> {
  const args: Record<string, bigint> = {};
  for (const k in call.args) args[k] = resolveValue(call.args[k], names, w);
  return {
    op: call.op,
    handles: call.handles.map((h) => names.get(h)?.value ?? -1),
    args,
    busy: call.busy,
  };
}

export function newRunWorld(opts: RunOptions): World {
  return newWorld(PROFILES[opts.profile], new Set(opts.bugs));
}

/** Run one call in an existing world; used by replay, the fuzzer and the shrinker alike. */
export function runStep(w: World, call: Call, index: number, names: Map<string, Bound>, opts: RunOptions, last = false): StepReport {
  const ec = toExecCall(call, names, w);
  const before = opts.noInvariants ? undefined : takeBefore(w, ec, !opts.costOf?.noStateImage);
  const r = execCall(w, ec, before ? stepTrace(w) : undefined);
  if (call.bind) names.set(call.bind, { value: r.ret.handle ?? -1 });
  let ctx: CheckCtx | undefined;
  if (before) {
    const ref = oracleOf(w);
    ref.observe(w, ec, r.ret, r.step);
    ctx = { world: w, call: ec, ret: r.ret, step: r.step, before, exception: r.exception, full: !opts.costOf?.noSweeps && (last || index % SWEEP_EVERY === SWEEP_EVERY - 1), ref };
  }
  const violations = ctx ? checkAll(ctx) : r.exception ? [{ invariant: 'no-exception', message: r.exception }] : [];
  const report: StepReport = {
    index, call, result: r.ret, out: r.step.out, seamcalls: r.step.seamcall.log, violations, exception: r.exception,
  };
  if (ctx && opts.onStep) opts.onStep(ctx, report);
  return report;
}

export function runProgram(p: Program, opts: RunOptions): RunReport {
  const w = newRunWorld(opts);
  const names = new Map<string, Bound>();
  const steps: StepReport[] = [];
  const violations: Violation[] = [];
  let firstViolation = -1;
  for (let i = 0; i < p.calls.length; i++) {
    const s = runStep(w, p.calls[i], i, names, opts, i === p.calls.length - 1);
    steps.push(s);
    if (s.violations.length > 0) {
      violations.push(...s.violations);
      if (firstViolation < 0) firstViolation = i;
      if (opts.stopOnViolation) break;
    }
  }
  return { steps, world: w, violations, firstViolation };
}

