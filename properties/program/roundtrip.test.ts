// Properties of the text form: parse(print(p)) is p with canonical names,
// printing is stable, and the parser never throws on any text.

import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { arbProgram } from '../../src/program/arbitrary.js';
import { parseProgram } from '../../src/program/parser.js';
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
  fcTest.prop([fc.string({ maxLength: 200 })], params)('on random text', (s) => {
    const r = parseProgram(s);
    expect(typeof r.ok).toBe('boolean');
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
    const r = parseProgram(t);
    if (!r.ok) {
      expect(r.error.line).toBeGreaterThanOrEqual(1);
      expect(r.error.col).toBeGreaterThanOrEqual(1);
      expect(r.error.message.length).toBeGreaterThan(0);
    }
  });
});
