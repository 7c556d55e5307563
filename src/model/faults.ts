// Seeded bugs as named fault points. Each bug of bugs.ts is tested at exactly
// one place in the model, by a call of fault() naming it (a test counts them),
// so a bug reads as one branch beside the code it breaks, the way a kernel
// fault-injection point does. The TDX module holds its own copy of the set:
// it sees nothing of the world above it.

import type { BugName } from './bugs.js';

/** Anything that carries the run's seeded bugs: the world, or the TDX module. */
export interface FaultHolder {
  readonly bugs: ReadonlySet<string>;
}

/** Whether the seeded bug `name` is on for this run: the one fault point of that bug. */
export function fault(holder: FaultHolder, name: BugName): boolean {
  return holder.bugs.has(name);
}
