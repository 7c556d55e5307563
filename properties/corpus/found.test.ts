// Every program in corpus/found is a regression: it must still trip its
// invariant under the profile and bugs it was found with, and pass once the
// bug is removed.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseProgram, formatParseError } from '../../src/program/parser.js';
import { checkProgram } from '../../src/corpus/check.js';
import { BUGS } from '../../src/model/bugs.js';
import { header } from '../../src/program/types.js';

const dir = join(import.meta.dirname, '..', '..', 'corpus', 'found');
const files = readdirSync(dir).filter((f) => f.endsWith('.prog')).sort();
const load = (f: string) => {
  const r = parseProgram(readFileSync(join(dir, f), 'utf8'), f);
  if (!r.ok) throw new Error(formatParseError(r.error));
  return r.program;
};

describe('corpus/found', () => {
  test('holds a finding for every seeded bug', () => {
    const bugs = new Set(files.flatMap((f) => (header(load(f), 'bugs') ?? '').split(',')));
    for (const b of BUGS) expect(bugs.has(b.name), b.name).toBe(true);
  });
  test.each(files)('%s', (f) => {
    const v = checkProgram(load(f));
    expect(v.kind).toBe('found');
    expect(v.detail).toMatch(/^trips /);
    expect(v.ok).toBe(true);
  });
});
