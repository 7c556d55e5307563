// Generator reach: a short run reaches every shape of src/fuzz/reach.ts at
// least once (non-zero guest_memfd offsets, several slots per file and files
// per VM, conversions, punches and munmaps over several live slots, reads
// after each content-changing event, duplicate vCPU ids per TD state, huge
// leaves demoted by a partial zap), and
// the shapes are a deterministic function of the seed.

import { expect, test } from 'vitest';
import { Coverage } from '../../src/fuzz/coverage.js';
import { search } from '../../src/fuzz/engine.js';
import { REACH_SHAPES } from '../../src/fuzz/reach.js';
import { programAt } from '../../src/fuzz/stream.js';
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

test('the same seed gives the same programs', () => {
  for (let i = 0; i < 20; i++) expect(programAt('hugepage', 40, SEED, i)).toEqual(programAt('hugepage', 40, SEED, i));
});
