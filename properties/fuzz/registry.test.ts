// The contract of invariants.md: every id is registered exactly once, and
// every registered invariant has a seeded bug that must trip it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { INVARIANT_IDS } from '../../src/invariants/registry.js';
import { BUGS } from '../../src/model/bugs.js';

describe('invariant registry', () => {
  test('the ids are exactly those of invariants.md, each once', () => {
    const spec = join(import.meta.dirname, '..', '..', 'docs', 'invariants.md');
    const ids = [...readFileSync(spec, 'utf8').matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(ids.length).toBe(20);
    expect([...INVARIANT_IDS].sort()).toEqual([...ids].sort());
    expect(new Set(INVARIANT_IDS).size).toBe(INVARIANT_IDS.length);
  });
  test('every invariant has at least one seeded bug, and every bug names a registered invariant', () => {
    for (const id of INVARIANT_IDS) expect(BUGS.some((b) => b.invariant === id), id).toBe(true);
    for (const b of BUGS) expect(INVARIANT_IDS).toContain(b.invariant);
  });
});
