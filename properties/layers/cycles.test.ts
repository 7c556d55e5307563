// No two source files import each other, directly or through others: the
// import graph of src/ (every .ts and .mjs file) has no cycle. Type-only
// imports count too: a cycle of types is still two modules that cannot be
// read, tested or moved one without the other, and layering is about that.

import { relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { files, findCycle, importGraph, root, specifiers } from './graph.js';

describe('the import graph of src/ has no cycle', () => {
  test('the parser sees every kind of import', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      'import {\n  c,\n  type D,\n} from "../c.js";',
      "export { e } from './e.js';",
      "export type { F } from './f.js';",
      "import './g.js';",
      "const h = await import('./h.ts');",
      "// a comment that says import nothing from './i.js'",
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a.js', './b.js', '../c.js', './e.js', './f.js', './g.js', './h.ts']);
  });

  test('the search finds a cycle, however long, and none in a tree with shared leaves', () => {
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', ['a']]]))).toEqual(['a', 'a']);
    expect(findCycle(new Map([['a', ['b', 'c']], ['b', ['d']], ['c', ['d']], ['d', []]]))).toBeNull();
  });

  test('every relative import names a file that exists', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(importGraph().unresolved).toEqual([]);
  });

  test('no file reaches itself through its imports', () => {
    const cycle = findCycle(importGraph().graph);
    expect(cycle?.map((f) => relative(root, f)).join(' -> ') ?? 'none').toBe('none');
  });
});
