// The program arbitrary: a setup phase (most of the time) and a swarm body,
// both abstract, materialized into concrete programs for running and
// printing.

import fc from 'fast-check';
import type { ProfileSettings } from '../model/profiles.js';
import type { ACall } from './abstract.js';
import { bodyArb, swarmArb } from './body.js';
import { setupCalls, setupShape } from './setup.js';

export interface GenOptions {
  settings: ProfileSettings;
  /** Upper bound on calls in a program. */
  maxCalls: number;
}

/** 85% of programs build a VM first; the rest are free-form. */
export function abstractProgramArb(o: GenOptions): fc.Arbitrary<ACall[]> {
  return fc.tuple(
    fc.oneof({ weight: 17, arbitrary: setupShape(o.settings).map((s) => setupCalls(s, o.settings)) }, { weight: 3, arbitrary: fc.constant([] as ACall[]) }),
    swarmArb,
  ).chain(([setup, enabled]) => bodyArb(enabled, Math.max(1, o.maxCalls - setup.length), { inPlace: o.settings.inPlaceConversion, huge: o.settings.hugeMappings }).map((body) => [...setup, ...body]));
}
