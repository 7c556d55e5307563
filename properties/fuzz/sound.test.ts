// The sound profiles pass generated programs with every invariant checked
// after every step. FUZZ_SEED and FUZZ_RUNS rotate and lengthen this nightly.

import { test as fcTest } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { abstractProgramArb } from '../../src/fuzz/program.js';
import { materialize } from '../../src/fuzz/abstract.js';
import { firstFinding } from '../../src/fuzz/check.js';
import { PROFILES, SOUND_PROFILES } from '../../src/model/profiles.js';
import { printProgram } from '../../src/program/printer.js';
import { SEED } from './hunt.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

describe.each(SOUND_PROFILES)('sound profile %s', (profile) => {
  const arb = abstractProgramArb({ settings: PROFILES[profile].settings, maxCalls: 40 });
  fcTest.prop([arb], { seed: SEED, numRuns: RUNS })('passes every invariant', (a) => {
    const p = materialize(a);
    const f = firstFinding(p, { profile, bugs: [] }).finding;
    expect(f, f ? `${f.invariant}: ${f.message}\n${printProgram(p)}` : '').toBeNull();
  });
});
