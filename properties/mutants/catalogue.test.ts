// The mutation campaign's catalogue: every mutant applies exactly once and
// still parses, ids are unique, the mutants reach every folder of the model
// and the kinds of bug the campaign is about, and the runner reports a
// mutant the invariants are known to catch as caught.

import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, expect, test } from 'vitest';
import { loadCatalogue, modelFolder, mutatedText, occurrences } from '../../scripts/mutants/catalogue.js';
import { runMutant } from '../../scripts/mutants/run.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { mutants, problems } = loadCatalogue(ROOT);

test('the catalogue is well formed, with unique ids and at least 30 mutants', () => {
  expect(problems).toEqual([]);
  expect(mutants.length).toBeGreaterThanOrEqual(30);
  expect(new Set(mutants.map((m) => m.id)).size).toBe(mutants.length);
  // Two names for one edit would count one bug twice in the catch rate.
  const edits = mutants.map((m) => JSON.stringify([m.file, m.find, m.replace]));
  expect(edits.filter((e, i) => edits.indexOf(e) !== i)).toEqual([]);
});

test.each(mutants.map((m) => [m.id, m] as const))('%s applies exactly once, changes its file and still parses', (_id, m) => {
  const before = readFileSync(join(ROOT, m.file), 'utf8');
  expect(occurrences(before, m.find), `find text of ${m.id} in ${m.file}`).toBe(1);
  const after = mutatedText(ROOT, m);
  expect(after).not.toBe(before);
  const out = ts.transpileModule(after, { reportDiagnostics: true, fileName: m.file, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  expect((out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
});

test('the mutants cover every folder of the model and the kinds of bug the campaign targets', () => {
  const modelDir = join(ROOT, 'src', 'model');
  const folders = ['.', ...readdirSync(modelDir).filter((d) => statSync(join(modelDir, d)).isDirectory())];
  const covered = new Set(mutants.map((m) => modelFolder(m.file)));
  expect(folders.filter((f) => !covered.has(f))).toEqual([]);
  const kinds = new Set(mutants.map((m) => m.kind));
  for (const k of ['range-end', 'index-base', 'loop-first-only', 'loop-one-short', 'skipped-chunk', 'notifier-range', 'freed-before-reclaimed', 'check-order', 're-zeroing', 'dropped-children', 'pamt-left-assigned']) {
    expect(kinds, k).toContain(k);
  }
});

const scratch = join(ROOT, '.tdxfuzz-tmp-mutants-test');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('the runner reports a mutant the invariants catch as caught, with its invariant and programs-to-find', async () => {
  const m = mutants.find((x) => x.id === 'mmu-zap-one-leaf-short')!;
  const r = await runMutant(ROOT, m, { seed: '1', runs: 100, profile: 'upstream', timeoutMs: 90_000, scratch });
  expect(r.status, r.error).toBe('caught');
  // The zap leaves one mirror leaf on a page guest_memfd no longer backs.
  expect(r.invariant).toBe('no-dangling-sept');
  expect(r.programs).toBeGreaterThanOrEqual(1);
  expect(r.programs).toBeLessThanOrEqual(100);
}, 120_000);
