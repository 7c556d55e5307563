// Every hand-written scenario in corpus/spec/ replays with every expectation
// met and no invariant violated, under the profile its header names.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseProgram, formatParseError } from '../../src/program/parser.js';
import { printResult } from '../../src/program/printer.js';
import { replayProgram } from '../../src/replay/replay.js';

const dir = join(import.meta.dirname, '..', '..', 'corpus', 'spec');
const files = readdirSync(dir).filter((f) => f.endsWith('.prog')).sort();

describe('corpus/spec', () => {
  test('holds the gmem.md and tdx.md scenarios', () => expect(files.length).toBeGreaterThanOrEqual(14));
  test.each(files)('%s', (f) => {
    const r = parseProgram(readFileSync(join(dir, f), 'utf8'), f);
    if (!r.ok) throw new Error(formatParseError(r.error));
    const withExpect = r.program.calls.filter((c) => c.expect).length;
    expect(withExpect).toBeGreaterThan(0);
    const out = replayProgram(r.program, {});
    const problems = [
      ...out.mismatches.map((i) => `call ${i} (line ${r.program.calls[i].line}): expected ${printResult(r.program.calls[i].expect!)}, got ${printResult(out.report.steps[i].result)}`),
      ...out.report.violations.map((v) => `${v.invariant}: ${v.message}`),
    ];
    expect(problems).toEqual([]);
  });
});
