// Invariants and the oracle see the model only through src/model/view.ts:
// every other import from src/model must be `import type`, so no check can
// borrow an answer (a slot lookup, an index, a privacy) from the code it
// checks.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..', 'src');
/** Files another branch owns; they move to the view when that branch is merged. */
const PENDING = new Set(['invariants/before.ts']);

const files = ['invariants', 'oracle'].flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`));

/** Every import of a file with whether it is type-only and where it points. */
export function importsOf(text: string): Array<{ from: string; typeOnly: boolean }> {
  const out: Array<{ from: string; typeOnly: boolean }> = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+['"]([^'"]+)['"]/gms)) {
    out.push({ from: m[4], typeOnly: m[2] !== undefined });
  }
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ from: m[1], typeOnly: false });
  return out;
}

describe('invariants and the oracle read the model only through the view', () => {
  test('there are files to check', () => expect(files.length).toBeGreaterThan(10));
  test('the parser sees value and type imports', () => {
    expect(importsOf("import { a } from '../model/x.js';\nimport type { B } from '../model/y.js';")).toEqual([
      { from: '../model/x.js', typeOnly: false }, { from: '../model/y.js', typeOnly: true },
    ]);
  });
  test.each(files.filter((f) => !PENDING.has(f)))('%s', (f) => {
    const text = readFileSync(join(root, f), 'utf8');
    for (const i of importsOf(text)) {
      if (!i.from.startsWith('../model/')) continue;
      if (i.typeOnly || i.from === '../model/view.js') continue;
      expect.fail(`${f} imports ${i.from} for its values; use import type or ../model/view.js`);
    }
  });
});
