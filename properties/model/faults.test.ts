// Seeded bugs are single named fault points: each bug of bugs.ts is tested by
// exactly one fault() call in the model, and nothing else in the model reads
// the set of bugs or names a bug.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUGS } from '../../src/model/bugs.js';

const MODEL = join(import.meta.dirname, '..', '..', 'src', 'model');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const FILES = sources(MODEL).map((p) => ({ path: relative(MODEL, p), text: readFileSync(p, 'utf8') }));
const FAULT_CALL = /\bfault\(\s*[\w.{} ]+,\s*'([a-z0-9-]+)'\s*\)/g;

/** Every fault() call of the model: [file, bug name]. */
function faultSites(files: Array<{ path: string; text: string }>): Array<[string, string]> {
  return files.flatMap((f) => [...f.text.matchAll(FAULT_CALL)].map((m): [string, string] => [f.path, m[1]]));
}

describe('seeded bugs are single named fault points', () => {
  test('the scan finds fault() calls in the forms the model writes', () => {
    const probe = [{ path: 'x.ts', text: "if (fault(w, 'a-b')) x();\nconst y = !fault(m, 'c2') && fault({ bugs }, 'd');" }];
    expect(faultSites(probe)).toEqual([['x.ts', 'a-b'], ['x.ts', 'c2'], ['x.ts', 'd']]);
  });

  test('every bug has exactly one fault point, and every fault point names a bug', () => {
    const sites = faultSites(FILES);
    const names = new Set<string>(BUGS.map((b) => b.name));
    for (const [file, name] of sites) expect(names.has(name), `${file}: fault(…, '${name}') names no seeded bug`).toBe(true);
    for (const b of BUGS) {
      const at = sites.filter(([, n]) => n === b.name).map(([f]) => f);
      expect(at, `seeded bug ${b.name} is tested at ${at.length} places (${at.join(', ')}), expected exactly one`).toHaveLength(1);
    }
  });

  test('nothing else in the model reads the bug set or names a bug', () => {
    for (const f of FILES) {
      if (f.path === 'bugs.ts' || f.path === 'faults.ts') continue;
      expect(f.text, `${f.path} reads the bug set directly`).not.toMatch(/\bbugs\s*\.\s*(has|includes|size|forEach)\b|\bhasBug\b|quirk/);
      const withoutFaults = f.text.replace(FAULT_CALL, '');
      for (const b of BUGS) expect(withoutFaults.includes(`'${b.name}'`), `${f.path} names ${b.name} outside fault()`).toBe(false);
    }
  });
});
