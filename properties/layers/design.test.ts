// The import test over the whole design (issue 13, item 8): every arrow
// between units of src/ is in the table of design.ts, with its kind; an
// import outside it, a value import over a type-only arrow, or a listed arrow
// nobody uses fails. The README's table of what is modelled lists the same
// arrows, and a test keeps the two equal.

import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { files, root } from './graph.js';
import { ARROWS, UNITS, unitOf, type Kind } from './design.js';

/** Relative imports of a source text with their kind: `type` only when every name imported is a type. */
export function importsWithKind(text: string): Array<{ spec: string; kind: Kind }> {
  const out: Array<{ spec: string; kind: Kind }> = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?([^;'"]*?)\s+from\s+['"]([^'"]+)['"]/gms)) {
    const names = m[2].trim();
    const inlineTypes = /^\{[^}]*\}$/.test(names) && names.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '));
    out.push({ spec: m[3], kind: m[1] || inlineTypes ? 'type' : 'value' });
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[1], kind: 'value' });
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1], kind: 'value' });
  return out.filter((i) => i.spec.startsWith('.'));
}

function target(from: string, spec: string): string {
  const p = resolve(dirname(from), spec);
  return p.endsWith('.js') && existsSync(p.replace(/\.js$/, '.ts')) ? p.replace(/\.js$/, '.ts') : p;
}

/** The arrows src/ draws now: from -> to with the kind of the strongest import and one example. */
function actualArrows(): Map<string, { kind: Kind; example: string }> {
  const out = new Map<string, { kind: Kind; example: string }>();
  for (const f of files) {
    for (const i of importsWithKind(readFileSync(f, 'utf8'))) {
      const a = unitOf(f);
      const b = unitOf(target(f, i.spec));
      if (a === b) continue;
      const key = `${a} -> ${b}`;
      const had = out.get(key);
      const example = `${relative(root, f).split(sep).join('/')} imports ${i.spec}`;
      if (!had || (had.kind === 'type' && i.kind === 'value')) out.set(key, { kind: i.kind, example });
    }
  }
  return out;
}

const allowed = new Map<string, Kind>(ARROWS.map(([a, b, kind]) => [`${a} -> ${b}`, kind]));

describe('the import graph holds the design', () => {
  test('the import parser tells type-only imports from value imports', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { d, type E } from './d.js';",
      "export { f } from './f.js';",
      "export type { G } from './g.js';",
      "const h = await import('./h.js');",
      "import { x } from 'node:fs';",
    ].join('\n');
    expect(importsWithKind(text)).toEqual([
      { spec: './a.js', kind: 'type' }, { spec: './b.js', kind: 'type' }, { spec: './d.js', kind: 'value' },
      { spec: './f.js', kind: 'value' }, { spec: './g.js', kind: 'type' }, { spec: './h.js', kind: 'value' },
    ]);
  });

  test('every file of src/ belongs to a unit of the design', () => {
    expect(unitOf('model/units.ts')).toBe('model/base');
    expect(unitOf('model/world.ts')).toBe('model/world');
    expect(unitOf('model/kvm/vm.ts')).toBe('model/kvm');
    expect(unitOf('fuzz/worker-boot.mjs')).toBe('fuzz');
    expect(unitOf('errors.ts')).toBe('errors');
    for (const f of files) expect(UNITS as readonly string[], relative(root, f)).toContain(unitOf(f));
  });

  test('every arrow is listed once, between units of the design', () => {
    const keys = ARROWS.map(([a, b]) => `${a} -> ${b}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const [a, b] of ARROWS) {
      expect(UNITS as readonly string[], a).toContain(a);
      expect(UNITS as readonly string[], b).toContain(b);
      expect(a).not.toBe(b);
    }
    // Arrows the design forbids: absent from the table, or type-only.
    for (const k of ['model/tdx -> model/gmem', 'model/tdx -> model/host', 'model/mmu -> model/kvm', 'model/kvm -> model/uapi', 'model/base -> program', 'corpus -> cli', 'model/gmem -> model/mmu']) expect(allowed.has(k), k).toBe(false);
    for (const k of ['invariants -> model/kvm', 'invariants -> model/mmu', 'oracle -> model/world']) expect(allowed.get(k), k).toBe('type');
    // The model is self-contained, and the command line is the top: nothing imports it.
    for (const [a, b] of ARROWS) {
      if (a.startsWith('model/')) expect(b, `${a} -> ${b}`).toMatch(/^model\//);
      expect(b, `${a} -> ${b}`).not.toBe('cli');
    }
  });

  test('no import draws an arrow the design does not list, or a value import over a type-only arrow', () => {
    const bad: string[] = [];
    for (const [key, a] of actualArrows()) {
      const kind = allowed.get(key);
      if (kind === undefined) bad.push(`${key} is not in the design (${a.example})`);
      else if (kind === 'type' && a.kind === 'value') bad.push(`${key} is type-only in the design, but ${a.example} imports a value`);
    }
    expect(bad).toEqual([]);
  });

  test('every listed arrow is still drawn', () => {
    const actual = actualArrows();
    const stale = ARROWS.filter(([a, b, kind]) => {
      const got = actual.get(`${a} -> ${b}`);
      return got === undefined || (kind === 'value' && got.kind === 'type');
    }).map(([a, b, kind]) => `${a} -> ${b} (${kind})`);
    expect(stale, 'listed arrows with no import (or only type imports over a value arrow): remove or narrow them').toEqual([]);
  });

  test("the README's table of what is modelled lists the same arrows", () => {
    const readme = readFileSync(join(root, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## What is modelled, and where'));
    const rows = new Map<string, string>();
    for (const line of section.split('\n')) {
      // | `src/<path>` ... | what it models | what it may import |
      const m = /^\| `src\/([\w/.-]+)`[^|]*\| [^|]* \| ([^|]*) \|$/.exec(line);
      if (m) rows.set(unitOf(m[1].endsWith('/') ? `${m[1]}x.ts` : m[1]), m[2]);
    }
    expect([...rows.keys()].sort()).toEqual([...UNITS].sort());
    for (const u of UNITS) {
      const listed = rows.get(u)!.split(',').map((s) => s.trim()).filter((s) => s && s !== 'nothing').sort();
      const want = ARROWS.filter(([a]) => a === u).map(([, b, kind]) => (kind === 'type' ? `${b} (types)` : b)).sort();
      expect(listed, `README row ${u}`).toEqual(want);
    }
  });
});
