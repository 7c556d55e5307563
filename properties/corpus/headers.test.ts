// Headers that change a program's result (# profile:, # bugs:) survive
// shrink, merge and minimise (issue 10, defect 5): whatever design a program
// was run under, command-line overrides included, the output replays under
// that same design and still trips the same invariant.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { printProgram } from '../../src/program/printer.js';
import { header, headerBugs, type Program } from '../../src/program/types.js';
import { programSetup } from '../../src/replay/replay.js';
import { checkProgram } from '../../src/corpus/check.js';
import { mergeCorpora } from '../../src/corpus/merge.js';
import { firstFinding } from '../../src/fuzz/check.js';
import { minimize } from '../../src/fuzz/minimize.js';
import { runMain } from '../cli/inproc.js';

const root = join(import.meta.dirname, '..', '..');
const foundDir = join(root, 'corpus', 'found');
const found = readdirSync(foundDir).filter((f) => f.endsWith('.prog')).sort();
const load = (f: string): Program => {
  const r = parseProgram(readFileSync(f, 'utf8'), f);
  if (!r.ok) throw new Error(f);
  return r.program;
};
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-hdr-'));
const setupOf = (p: Program) => programSetup(p, {});
/** The file with its design headers removed, so only the command line names the design. */
const stripped = (p: Program): Program => ({ headers: p.headers.filter(([k]) => k !== 'profile' && k !== 'bugs'), calls: p.calls });

describe('design headers survive', () => {
  test('shrink --profile/--bug writes the design it used into --out, and the result replays the same', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...found), async (name) => {
      const p = load(join(foundDir, name));
      const design = setupOf(p);
      const dir = tmp();
      const input = join(dir, 'in.prog');
      writeFileSync(input, printProgram(stripped(p)));
      const args = ['shrink', input, '--out', join(dir, 'small.prog'), '--profile', design.profile, ...design.bugs.flatMap((b) => ['--bug', b])];
      const r = await runMain(...args);
      expect(r.status, r.stderr).toBe(1);
      const small = load(join(dir, 'small.prog'));
      expect(setupOf(small)).toEqual(design);
      expect(header(small, 'invariant')).toBe(header(p, 'invariant'));
      // The shrunk file alone (no overrides) still trips its invariant and is clean under the sound design.
      expect(checkProgram(small)).toMatchObject({ ok: true });
    }), { numRuns: 5, seed: 10 });
  }, 120_000);

  test('shrink keeps the invariant the file names when the program trips several at one step', async () => {
    // This teardown trips removal-order and frame-liveness at its last CLOSE; the file names frame-liveness.
    const dir = tmp();
    const r = await runMain('shrink', join(foundDir, 'frame-liveness-06b9bb85.prog'), '--out', join(dir, 'small.prog'));
    expect(r.status, r.stderr).toBe(1);
    expect(header(load(join(dir, 'small.prog')), 'invariant')).toBe('frame-liveness');
  });

  test('corpus merge keeps profile and bugs of every program', () => {
    const into = tmp();
    const r = mergeCorpora([foundDir], into);
    expect(r.added.length).toBe(found.length);
    const key = (q: Program) => JSON.stringify([header(q, 'invariant'), setupOf(q), headerBugs(q).sort(), printProgram({ headers: [], calls: q.calls })]);
    const sources = found.map((n) => key(load(join(foundDir, n)))).sort();
    expect(r.added.map((f) => key(load(f))).sort()).toEqual(sources);
  });

  test('minimise keeps every header', () => {
    fc.assert(fc.property(fc.constantFrom(...found), (name) => {
      const p = load(join(foundDir, name));
      const design = setupOf(p);
      const inv = header(p, 'invariant')!;
      const oracle = (q: Program) => firstFinding(q, { ...design, want: inv }).finding?.index ?? -1;
      const { program } = minimize(p, oracle, Date.now() + 10_000);
      expect(program.headers).toEqual(p.headers);
      expect(setupOf(program)).toEqual(design);
    }), { numRuns: 4, seed: 11 });
  });
});
