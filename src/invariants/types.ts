// The shape every invariant has: a stable id (invariants.md) and a pure check
// over the model after a step, the step's record and a summary of the state
// before it.

import type { ExecCall } from '../model/exec.js';
import type { Ret } from '../model/result.js';
import type { StepCtx, World } from '../model/world.js';
import type { Before } from './before.js';

export interface Violation {
  invariant: string;
  message: string;
}

export interface CheckCtx {
  world: World;
  call: ExecCall;
  ret: Ret;
  step: StepCtx;
  before: Before;
  exception?: string;
}

export interface Invariant {
  id: string;
  /** One line from invariants.md, for listings and reports. */
  summary: string;
  check(ctx: CheckCtx): Violation[];
}
