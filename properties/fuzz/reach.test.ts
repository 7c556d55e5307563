// Generator reach: a short run reaches every shape of src/fuzz/reach.ts at
// least once (non-zero guest_memfd offsets, several slots per file and files
// per VM, conversions, punches and munmaps over several live slots, reads
// after each content-changing event, duplicate vCPU ids per TD state, huge
// leaves demoted by a partial zap), and
// the shapes are a deterministic function of the seed.

import { expect, test } from 'vitest';
import { Coverage } from '../../src/fuzz/coverage.js';
import { search } from '../../src/fuzz/engine.js';
import { mapsHugePage, REACH_SHAPES } from '../../src/fuzz/reach.js';
import { programAt } from '../../src/fuzz/stream.js';
import { materialize } from '../../src/fuzz/abstract.js';
import { runProgram, type StepReport } from '../../src/fuzz/runner.js';
import { SEED } from './hunt.js';

const RUNS = Number(process.env.FUZZ_REACH_RUNS ?? 300);

test(`${RUNS} programs each of upstream, inplace and hugepage reach every generator shape`, () => {
  const coverage = new Coverage();
  for (const profile of ['upstream', 'inplace', 'hugepage'] as const) search({ profile, bugs: [], seed: SEED, runs: RUNS, maxCalls: 40, coverage });
  const missing = coverage.reachCounts().filter(([, n]) => n === 0).map(([k]) => k);
  expect(missing).toEqual([]);
  expect(coverage.reachCounts().map(([k]) => k)).toEqual([...REACH_SHAPES]);
  // The shapes travel with the coverage a worker hands back.
  const copy = new Coverage();
  copy.merge(coverage.toJSON());
  expect(copy.reachCounts()).toEqual(coverage.reachCounts());
}, 120_000);

/** Over the first 300 programs of a profile: the steps for which `hit` holds, and the programs with at least one. */
function tally(profile: 'upstream' | 'inplace' | 'hugepage', hit: (s: StepReport) => boolean): { steps: number; programs: number } {
  let steps = 0;
  let programs = 0;
  for (let i = 0; i < 300; i++) {
    const r = runProgram(materialize(programAt(profile, 40, SEED, i)), { profile, bugs: [], noInvariants: true });
    const n = r.steps.filter(hit).length;
    steps += n;
    if (n > 0) programs++;
  }
  return { steps, programs };
}

test('upstream TDs often receive pages from a source address (TDH.MEM.PAGE.ADD)', () => {
  // 11 of these programs did while the setup's coin flips were biased (chance.test.ts), 75 now.
  const { programs } = tally('upstream', (s) => s.seamcalls.some((c) => c.name === 'TDH.MEM.PAGE.ADD' && c.status === 'TDX_SUCCESS'));
  console.log(`upstream programs with a successful PAGE.ADD: ${programs} of 300`);
  expect(programs).toBeGreaterThanOrEqual(60);
}, 60_000);

test('hugepage programs often hand the TD a whole 2 MiB page', () => {
  // What every 2 MiB mutant and bug needs first: a successful PAGE.AUG at 2 MiB.
  // Random 4 KiB touches break huge pages before a 2 MiB accept comes; the
  // setup's own 2 MiB accept or pre-fault (setup.ts, `huge`) is what makes it
  // common (30 of these 300 programs with it, 11 without).
  expect(tally('hugepage', (s) => mapsHugePage(s.seamcalls)).programs).toBeGreaterThanOrEqual(20);
}, 60_000);

test('in-place programs convert pinned pages, which must be refused (EAGAIN)', () => {
  // The in-place conversion series refuses shared-to-private while a page
  // holds a reference beyond the page cache's; random pins almost never
  // came before a conversion of their page (none in 3,000 programs).
  const refused = tally('inplace', (s) => s.call.op === 'KVM_SET_MEMORY_ATTRIBUTES2' && s.result.kind === 'errno' && s.result.name === 'EAGAIN');
  expect(refused.steps).toBeGreaterThanOrEqual(5);
}, 60_000);

test('the same seed gives the same programs', () => {
  for (let i = 0; i < 20; i++) expect(programAt('hugepage', 40, SEED, i)).toEqual(programAt('hugepage', 40, SEED, i));
});
