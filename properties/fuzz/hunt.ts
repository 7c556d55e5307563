// Shared by the per-family suites: hunt one seeded bug with the fuzzer from a
// fixed seed (or FUZZ_SEED), and check the shrunk program is 1-minimal.

import { expect, test } from 'vitest';
import { BUGS, type BugName } from '../../src/model/bugs.js';
import { fuzz } from '../../src/fuzz/engine.js';
import { firstFinding } from '../../src/fuzz/check.js';
import { isOneMinimal } from '../../src/fuzz/minimize.js';
import { printProgram } from '../../src/program/printer.js';
import { seedFrom } from '../../src/fuzz/seed.js';
import type { Program } from '../../src/program/types.js';
import type { ProfileName } from '../../src/model/profiles.js';

export const SEED = seedFrom(process.env.FUZZ_SEED ?? '1');
/** Runs allowed to find a bug; nightly raises it along with the seed. */
export const HUNT_RUNS = Number(process.env.FUZZ_HUNT_RUNS ?? 3000);

export function huntTests(invariants: readonly string[]): void {
  const bugs = BUGS.filter((b) => invariants.includes(b.invariant));
  test('every invariant of this family has a seeded bug', () => {
    for (const inv of invariants) expect(bugs.map((b) => b.invariant)).toContain(inv);
  });
  test.each(bugs.map((b) => [b.name, b] as const))('the fuzzer finds %s and shrinks it to a 1-minimal program', (_n, b) => {
    const profile: ProfileName = (b as { profile?: ProfileName }).profile ?? 'upstream';
    const target = { profile, bugs: [b.name as BugName], want: b.invariant };
    const r = fuzz({ ...target, seed: SEED, runs: HUNT_RUNS, maxCalls: 40, shrinkMs: 10_000 });
    expect(r.finding, `${b.name} not found in ${r.runs} programs from seed ${SEED}`).toBeDefined();
    const f = r.finding!;
    expect(f.invariant).toBe(b.invariant);
    expect(f.program.calls.length).toBeLessThanOrEqual(f.unshrunkCalls);
    const oracle = (p: Program) => {
      const x = firstFinding(p, target).finding;
      return x ? x.index : -1;
    };
    expect(oracle(f.program), printProgram(f.program)).toBeGreaterThanOrEqual(0);
    expect(isOneMinimal(f.program, oracle), `not 1-minimal:\n${printProgram(f.program)}`).toBe(true);
    // The same program is clean without the bug: the model is sound there.
    expect(firstFinding(f.program, { profile, bugs: [] }).finding, `violation without the bug:\n${printProgram(f.program)}`).toBeNull();
  }, 120_000);
}
