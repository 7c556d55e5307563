// State coverage of a short run on upstream: every call of the vocabulary
// both succeeds and fails at least once, and every S-EPT leaf state is
// reached, so no part of the model goes unexercised.

import { expect, test } from 'vitest';
import { Coverage, EVERY_STEP, ONLY_WHERE, SEPT_STATES } from '../../src/fuzz/coverage.js';
import { documented } from '../../src/invariants/errno_contract.js';
import { CALL_NAMES } from '../../src/program/calls.js';
import { search } from '../../src/fuzz/engine.js';
import { INVARIANT_IDS } from '../../src/invariants/registry.js';
import { SEED } from './hunt.js';

test('a short upstream run reaches every call both ways and every S-EPT leaf state', () => {
  const coverage = new Coverage();
  search({ profile: 'upstream', bugs: [], seed: SEED, runs: Number(process.env.FUZZ_RUNS ?? 1500), maxCalls: 40, coverage });
  // KVM_SET_MEMORY_ATTRIBUTES2 does not exist without in-place conversion:
  // on upstream it can only fail, with ENOTTY.
  expect(coverage.pairs.get('KVM_SET_MEMORY_ATTRIBUTES2 -> ENOTTY') ?? 0).toBeGreaterThan(0);
  const missing = [...coverage.callOutcomes()].filter(([op]) => op !== 'KVM_SET_MEMORY_ATTRIBUTES2').filter(([, o]) => !o.ok || !o.failed).map(([op, o]) => `${op}: ${o.ok ? '' : 'never succeeded '}${o.failed ? '' : 'never failed'}`);
  expect(missing).toEqual([]);
  expect([...coverage.septStates()].sort()).toEqual([...SEPT_STATES].sort());
  // Each counted invariant had something to check in some step but not in
  // all: a count equal to the step count would be a constant, not coverage.
  for (const id of INVARIANT_IDS.filter((i) => !EVERY_STEP.has(i))) {
    expect(coverage.invariants.get(id) ?? 0, id).toBeGreaterThan(0);
    expect(coverage.invariants.get(id) ?? 0, id).toBeLessThan(coverage.steps);
  }
  for (const id of EVERY_STEP) expect(coverage.invariants.has(id), id).toBe(false);
  expect(coverage.td.get('INITIALIZED -> RUNNABLE') ?? 0).toBeGreaterThan(0);
  // Every documented pair the run left unreached is one upstream cannot
  // produce, and the report says why beside it.
  expect(coverage.unreached().filter((u) => !ONLY_WHERE[u])).toEqual([]);
  expect(coverage.lines().find((l) => l.includes('KVM_TDX_INIT_MEM_REGION -> EEXIST'))).toMatch(/g1 only/);
}, 120_000);

test('the reasons beside never-reached pairs name documented pairs', () => {
  const pairs = new Set(CALL_NAMES.flatMap((op) => documented(op).map((e) => `${op} -> ${e}`)));
  for (const k of Object.keys(ONLY_WHERE)) expect(pairs.has(k), k).toBe(true);
});

test('on inplace, KVM_SET_MEMORY_ATTRIBUTES2 succeeds and fails', () => {
  const coverage = new Coverage();
  search({ profile: 'inplace', bugs: [], seed: SEED, runs: 500, maxCalls: 40, coverage });
  const o = coverage.callOutcomes().get('KVM_SET_MEMORY_ATTRIBUTES2')!;
  expect(o).toEqual({ ok: true, failed: true });
}, 120_000);
