// Frame numbers and addresses are distinct types (units.ts): a guest frame
// cannot go where a host frame is expected, nor a byte address where a frame
// number is. The `@ts-expect-error` lines below make `tsc --noEmit` fail the
// day one of these mix-ups compiles; the test type-checks a fixture of
// right and wrong calls against the model's own signatures and requires an
// error on exactly the wrong ones, naming the unit that was expected.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { asGfn, asGpa, gfnToGpa, pfnAdd, tableKey } from '../../src/model/units.js';
import { leafFor, newRoot } from '../../src/model/mmu/spte.js';

const gfn = asGfn(0x200);
const gpa = asGpa(0x200000);

describe('units are checked by tsc in this file', () => {
  test('a GFN is not a PFN, a GPA is not a GFN', () => {
    // @ts-expect-error a GFN where a PFN is expected
    pfnAdd(gfn, 1);
    // @ts-expect-error a GPA where a GFN is expected
    expect(leafFor(newRoot(), gpa)).toBeUndefined();
    // @ts-expect-error a GPA where a GFN is expected
    tableKey(1, gpa);
    // The conversions are the way across, and they keep the value.
    expect(gfnToGpa(gfn)).toBe(gpa);
    expect(tableKey(1, gfn)).toBe('1:1');
  });
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = resolve(root, 'properties/model/brands-fixture.ts');

/** Lines of the fixture: [what it does, the statement, the unit tsc must name when it refuses it (null: it compiles)]. */
const CASES: Array<[string, string, string | null]> = [
  ['a SEAMCALL with a GPA and a PFN', 'sc.tdhMemPageAug(m, ctx, 1, gpa, 0, pfn);', null],
  ['a SEAMCALL with a GFN for its PFN', 'sc.tdhMemPageAug(m, ctx, 1, gpa, 0, gfn);', 'Pfn'],
  ['a SEAMCALL with a GFN for its GPA', 'sc.tdhMemPageAug(m, ctx, 1, gfn, 0, pfn);', 'Gpa'],
  ['a SEAMCALL with a plain number for its PFN', 'sc.tdhPhymemPageReclaim(m, ctx, 0x1000);', 'Pfn'],
  ['a SEAMCALL with an HPA for its PFN', 'sc.tdhPhymemPageReclaim(m, ctx, pfnToHpa(pfn));', 'Pfn'],
  ['a SEAMCALL with the PFN of an HPA', 'sc.tdhPhymemPageReclaim(m, ctx, hpaToPfn(pfnToHpa(pfn)));', null],
  ['the MMU looked up by GFN', 'leafFor(root, gfn);', null],
  ['the MMU looked up by GPA', 'leafFor(root, gpa);', 'Gfn'],
  ['the MMU looked up by PFN', 'leafFor(root, pfn);', 'Gfn'],
  ['an SPTE holding a GFN for its frame', "const s: Spte = { pfn: gfn, level: 0, private: true };", 'Pfn'],
  ['a memslot found by GFN', 'findSlot([], gfn);', null],
  ['a memslot found by GPA', 'findSlot([], gpa);', 'Gfn'],
  ['a GPA converted to its GFN first', 'findSlot([], gpaToGfn(gpa));', null],
  ['frame arithmetic that keeps the unit', 'const p: Pfn = pfnAdd(pfn, 1);', null],
  ['frame arithmetic that drops it', 'const p: Pfn = pfn + 1;', 'Pfn'],
];

const HEADER = `
import * as sc from '../../src/model/tdx/seamcall.js';
import { newSeamcallCtx } from '../../src/model/tdx/seamcall.js';
import { newTdxModule } from '../../src/model/tdx/state.js';
import { newPhysMem } from '../../src/model/phys.js';
import { leafFor, newRoot, type Spte } from '../../src/model/mmu/spte.js';
import { findSlot } from '../../src/model/kvm/memslot.js';
import { asGfn, asGpa, asPfn, gpaToGfn, hpaToPfn, pfnAdd, pfnToHpa, type Pfn } from '../../src/model/units.js';
const m = newTdxModule(newPhysMem());
const ctx = newSeamcallCtx();
const root = newRoot();
const gfn = asGfn(1);
const gpa = asGpa(0x1000);
const pfn = asPfn(0x100000);
`;

/** The errors tsc reports per fixture case (by index), with the model's real signatures. */
function errorsPerCase(): string[][] {
  const lines = CASES.map(([, stmt]) => `{ ${stmt} }`);
  const text = HEADER + lines.join('\n') + '\n';
  const first = HEADER.split('\n').length;
  const config = ts.readConfigFile(resolve(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  // The fixture's statements declare what they test and never read it.
  options.noUnusedLocals = false;
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, lang, onError, fresh) =>
    resolve(name) === FIXTURE ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, onError, fresh);
  host.fileExists = (name) => resolve(name) === FIXTURE || fileExists(name);
  const program = ts.createProgram([FIXTURE], options, host);
  const out: string[][] = CASES.map(() => []);
  for (const d of program.getSemanticDiagnostics(program.getSourceFile(FIXTURE))) {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const i = line - first;
    const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (i >= 0 && i < CASES.length) out[i].push(msg);
    else throw new Error(`fixture header does not compile: ${msg}`);
  }
  return out;
}

describe('the model signatures refuse mixed units', () => {
  const errors = errorsPerCase();
  test.each(CASES.map(([what, , unit], i) => [what, unit, i] as const))('%s', (_what, unit, i) => {
    if (unit === null) expect(errors[i]).toEqual([]);
    else {
      expect(errors[i]).toHaveLength(1);
      expect(errors[i][0]).toMatch(new RegExp(`not assignable to (parameter of )?type '${unit}'`));
    }
  });
});
