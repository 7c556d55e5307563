// Golden tests of the printer: hand-written inputs in non-canonical form and
// the canonical text they must print as.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { printProgram } from '../../src/program/printer.js';

const dir = join(import.meta.dirname, 'golden');
const cases = readdirSync(dir).filter((f) => f.endsWith('.prog'));

describe('printer golden files', () => {
  test('there are golden cases', () => expect(cases.length).toBeGreaterThanOrEqual(2));
  test.each(cases)('%s', (f) => {
    const r = parseProgram(readFileSync(join(dir, f), 'utf8'), f);
    if (!r.ok) throw new Error(`${r.error.line}:${r.error.col}: ${r.error.message}`);
    const want = readFileSync(join(dir, f.replace(/\.prog$/, '.expected')), 'utf8');
    expect(printProgram(r.program)).toBe(want);
  });
});
