// The local dry run of the nightly steps writes the same summary and JUnit
// report the CI jobs publish.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { BUGS } from '../../src/model/bugs.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tdxfuzz.mjs');

test('nightly writes summary.md and junit.xml', () => {
  const out = mkdtempSync(join(tmpdir(), 'tdxfuzz-nightly-'));
  const r = spawnSync(process.execPath, [bin, 'nightly', '--time', '4', '--seed', 'nightly-test', '--bug-runs', '3000', '--out', out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/seed -?\d+ \(from 'nightly-test'\)/);
  const md = readFileSync(join(out, 'summary.md'), 'utf8');
  expect(md).toContain('| profile | shard | seed | programs | calls | calls/s | findings |');
  for (const p of ['upstream', 'g1', 'inplace', 'hugepage']) expect(md).toMatch(new RegExp(`\\| ${p} \\| 1/1 \\|`));
  expect(md).toContain('## Seeded bugs');
  const xml = readFileSync(join(out, 'junit.xml'), 'utf8');
  expect(xml).toMatch(/<testsuite name="tdxfuzz.fuzz" tests="4" failures="0"/);
  expect(xml).toContain(`<testsuite name="tdxfuzz.bugs" tests="${BUGS.length}" failures="0"`);
}, 180_000);
