// The shape every invariant has: a stable id (invariants.md) and a pure check
// over the model after a step, the step's record and a summary of the state
// before it.

import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import type { Ret } from '../model/result.js';
import type { StepCtx, World } from '../model/world.js';
import type { Before } from './before.js';
import type { Oracle } from '../oracle/index.js';

export interface Violation {
  invariant: string;
  message: string;
}

export interface CheckCtx {
  world: World;
  call: ExecCall<Op>;
  ret: Ret;
  step: StepCtx;
  before: Before;
  exception?: string;
  /**
   * A full sweep: check the whole state, not only what the step says it
   * touched. The runner asks for one every SWEEP_EVERY steps and after the
   * last step of a program, so a model path that forgets its bookkeeping
   * cannot hide a violation from the incremental checks.
   */
  full: boolean;
  /** The reference state (src/oracle), already updated with this step and holding its predictions. */
  ref: Oracle;
}

export interface Invariant {
  id: string;
  /** One line from invariants.md, for listings and reports. */
  summary: string;
  check(ctx: CheckCtx): Violation[];
}
