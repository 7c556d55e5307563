// Properties of the text form: parse(print(p)) is p with canonical names,
// printing is stable, and the parser never throws on any text. parseProgram()
// catches everything, so the never-throws properties run the inner
// parseLines(): any exception other than a ParseFailure fails them.

import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { arbProgram } from '../../src/program/arbitrary.js';
import { ParseFailure } from '../../src/program/errors.js';
import { parseLines, parseProgram } from '../../src/program/parser.js';
import { printProgram, renumber } from '../../src/program/printer.js';
import type { Program } from '../../src/program/types.js';

const strip = (p: Program) => ({ headers: p.headers, calls: p.calls.map(({ line: _l, leading: _d, ...c }) => c) });
const params = { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? 42) };

describe('program text round trip', () => {
  fcTest.prop([arbProgram()], params)('parse(print(p)) equals renumber(p)', (p) => {
    const text = printProgram(p);
    const r = parseProgram(text);
    if (!r.ok) throw new Error(`${r.error.line}:${r.error.col}: ${r.error.message}\n${text}`);
    expect(strip(r.program)).toEqual(strip(renumber(p)));
  });

  fcTest.prop([arbProgram()], params)('printing is stable', (p) => {
    const once = printProgram(p);
    const r = parseProgram(once);
    expect(r.ok).toBe(true);
    if (r.ok) expect(printProgram(r.program)).toBe(once);
  });
});

describe('the parser never throws', () => {
  /** Parse with the inner parser: a ParseFailure is an answer, anything else a defect. */
  const parseStrict = (t: string): ParseFailure | null => {
    try {
      parseLines(t);
      return null;
    } catch (e) {
      if (e instanceof ParseFailure) return e;
      throw e;
    }
  };

  fcTest.prop([fc.string({ maxLength: 200 })], params)('on random text', (s) => {
    const f = parseStrict(s);
    expect(parseProgram(s).ok).toBe(f === null);
  });

  const mutated = fc.tuple(arbProgram(6), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 4 })), { maxLength: 4 }))
    .map(([p, edits]) => {
      let t = printProgram(p);
      for (const [at, del, ins] of edits) {
        const i = t.length === 0 ? 0 : at % t.length;
        t = t.slice(0, i) + ins + t.slice(i + (del % 4));
      }
      return t;
    });
  fcTest.prop([mutated], params)('on mutated programs', (t) => {
    const f = parseStrict(t);
    if (f) {
      expect(f.line).toBeGreaterThanOrEqual(1);
      expect(f.col).toBeGreaterThanOrEqual(1);
      expect(f.message.length).toBeGreaterThan(0);
    }
  });
});
