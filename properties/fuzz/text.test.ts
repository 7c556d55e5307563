// Every program the fuzzer generates has a text form that reads back as the
// same program: a failure is saved as text, and `replay` and `corpus check`
// must read it. A shape that computes an address past 2^64 once produced a
// saved failure no tool could read (readPastEnd in src/fuzz/body.ts).

import { expect, test } from 'vitest';
import { materialize } from '../../src/fuzz/abstract.js';
import { programAt } from '../../src/fuzz/stream.js';
import { SOUND_PROFILES } from '../../src/model/profiles.js';
import { parseProgram } from '../../src/program/parser.js';
import { printProgram } from '../../src/program/printer.js';

const RUNS = Number(process.env.FUZZ_TEXT_RUNS ?? 2000);

test(`${RUNS} generated programs of each sound profile print as text that parses back to them`, () => {
  for (const profile of SOUND_PROFILES) {
    for (let i = 0; i < RUNS; i++) {
      // The longest programs the command line allows by default, where a shape has the most room to grow.
      const p = materialize(programAt(profile, 40, 1, i));
      const text = printProgram(p);
      const r = parseProgram(text, `${profile} program ${i}`);
      if (!r.ok) throw new Error(`${profile} program ${i}: ${r.error.message}\n${text}`);
      expect(printProgram(r.program)).toBe(text);
    }
  }
}, 120_000);
