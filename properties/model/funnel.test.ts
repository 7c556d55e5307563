// The one SPTE funnel (src/model/mmu/funnel.ts): nothing else in src/ writes
// an MMU root, every transition is classified before any bookkeeping, and an
// illegal one is rejected with nothing changed and no external hook called.
// The hooks here are a recording table registered for a bare VM, so the
// funnel is seen alone, without the TDX module behind it.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { classify, clearPremapped, linkTable, ModelAssertion, setLeaf, splitLeaf, unlinkAllTables } from '../../src/model/mmu/funnel.js';
import { registerExternalOps, type ExternalSpteOps, type MmuVm } from '../../src/model/mmu/ops.js';
import { newMmu, type Spte } from '../../src/model/mmu/spte.js';
import { asGfn, asPfn, tableKey } from '../../src/model/units.js';
import { PROFILES } from '../../src/model/profiles.js';
import { newWorld, type World } from '../../src/model/world.js';

const SRC = join(import.meta.dirname, '../../src');
const FUNNEL = 'model/mmu/funnel.ts';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Writes of an MMU root: a mutator on a leaf map or on the page-table set,
 * or an assignment of the pre-mapped flag. The TDX module's own S-EPT
 * (src/model/tdx, `td.leaves`) is a different table and is not scanned.
 */
const WRITES = [
  /\.leaves\[[^\]]+\]\s*\.\s*(set|delete|clear)\s*\(/g,
  /\.tables\s*\.\s*(add|delete|clear)\s*\(/g,
  /\bpremapped\s*(=(?!=)|\+\+|--)/g,
  /\.leaves\s*=(?!=)/g,
  /\.tables\s*=(?!=)/g,
];

function writesIn(text: string): string[] {
  return WRITES.flatMap((re) => [...text.matchAll(re)].map((m) => m[0]));
}

describe('the SPTE funnel is the only writer', () => {
  test('no module outside mmu/funnel.ts writes a leaf map, the page-table set or the pre-mapped flag', () => {
    const offenders: string[] = [];
    for (const f of tsFiles(SRC)) {
      const rel = relative(SRC, f).split('\\').join('/');
      if (rel === FUNNEL || rel.startsWith('model/tdx/')) continue;
      for (const w of writesIn(readFileSync(f, 'utf8'))) offenders.push(`${rel}: ${w}`);
    }
    expect(offenders).toEqual([]);
  });

  test('the scan sees the funnel’s own writes (the patterns are not dead)', () => {
    const found = writesIn(readFileSync(join(SRC, FUNNEL), 'utf8'));
    expect(found.some((s) => s.includes('.set('))).toBe(true);
    expect(found.some((s) => s.includes('.delete('))).toBe(true);
    expect(found.some((s) => s.startsWith('.tables') && s.includes('add'))).toBe(true);
    // And it would see a write elsewhere, in the forms the model used before.
    expect(writesIn('leaf.spte.premapped = false;')).toHaveLength(1);
    expect(writesIn('vm.mmu.mirror.tables.clear();')).toHaveLength(1);
    expect(writesIn('root.leaves[0].set(base + i, x)')).toHaveLength(1);
    expect(writesIn('if (leaf.premapped === true) x();')).toHaveLength(0);
  });
});

let tables = 0;

/** A bare VM with a mirror root whose hooks record what the funnel asked (a table of its own each time). */
function recordingVm(): { w: World; vm: MmuVm; calls: string[]; refuse: Set<string> } {
  const calls: string[] = [];
  const refuse = new Set<string>();
  const ops: ExternalSpteOps = {
    linkExternalSpt: (_w, _vm, level, gfn) => (calls.push(`link ${level}:${gfn}`), refuse.has('link') ? 'EIO' : null),
    setExternalSpte: (_w, _vm, base, level) => (calls.push(`set ${level}:${base}`), refuse.has('set') ? 'EBUSY' : refuse.has('premap') ? 'premapped' : null),
    removeExternalSpte: (_w, _vm, base, level) => void calls.push(`remove ${level}:${base}`),
    splitExternalSpte: (_w, _vm, base) => (calls.push(`split ${base}`), refuse.has('split') ? 'EIO' : null),
  };
  const name = `funnel-test-${++tables}`;
  registerExternalOps(name, ops);
  const w = newWorld(PROFILES.upstream, new Set());
  const vm: MmuVm = { id: 1, bugged: false, mmu: newMmu(), externalOps: name };
  return { w, vm, calls, refuse };
}

const leaf = (pfn: number, level: 0 | 1 = 0): Spte => ({ pfn: asPfn(pfn), level, private: true });

describe('transitions', () => {
  test('classify: the legal transitions, each named', () => {
    const L = (spte: Spte) => ({ kind: 'leaf' as const, spte });
    const T = { kind: 'table' as const };
    expect(classify(undefined, null)).toBe('none');
    expect(classify(undefined, L(leaf(5)))).toBe('install');
    expect(classify(L(leaf(5)), null)).toBe('remove');
    expect(classify(undefined, T)).toBe('link');
    expect(classify(T, null)).toBe('unlink');
    expect(classify(L(leaf(512, 1)), T)).toBe('split');
    expect(classify(L({ ...leaf(5), premapped: true }), L({ ...leaf(5), premapped: false }))).toBe('flags');
  });

  test('classify: the illegal transitions throw', () => {
    const L = (spte: Spte) => ({ kind: 'leaf' as const, spte });
    const T = { kind: 'table' as const };
    expect(() => classify(L(leaf(5)), L(leaf(6)))).toThrow(/overwritten with a new PFN/);
    expect(() => classify(L(leaf(5)), L(leaf(5)))).toThrow(/spurious SPTE write/);
    expect(() => classify(L(leaf(5)), T)).toThrow(/not 2 MiB/);
    expect(() => classify(T, L(leaf(512, 1)))).toThrow(/replaced by a leaf/);
    expect(() => classify(T, T)).toThrow(/spurious page-table write/);
  });

  test('an illegal write is rejected before any bookkeeping: no hook, no change, nothing touched', () => {
    const { w, vm, calls } = recordingVm();
    expect(setLeaf(w, vm, 'mirror', asGfn(7), 0, leaf(100))).toBeNull();
    expect(calls).toEqual(['set 0:7']);
    const before = JSON.stringify([...vm.mmu.mirror.leaves[0]]);
    const touched = w.step.touched.gfns.length;
    expect(() => setLeaf(w, vm, 'mirror', asGfn(7), 0, leaf(200))).toThrow(ModelAssertion);
    expect(calls).toEqual(['set 0:7']);
    expect(JSON.stringify([...vm.mmu.mirror.leaves[0]])).toBe(before);
    expect(w.step.touched.gfns.length).toBe(touched);
    // A page table asked for where a leaf is, or a link where the caller asked for a split, is rejected too.
    expect(() => splitLeaf(w, vm, 'mirror', asGfn(7))).toThrow(ModelAssertion);
    expect(calls).toEqual(['set 0:7']);
  });

  test('legal writes call the matching hook, then write; a refused hook changes nothing', () => {
    const { w, vm, calls, refuse } = recordingVm();
    const root = vm.mmu.mirror;
    refuse.add('link');
    expect(linkTable(w, vm, 'mirror', 2, asGfn(0x40000))).toBe('EIO');
    expect(root.tables.size).toBe(0);
    refuse.clear();
    expect(linkTable(w, vm, 'mirror', 2, asGfn(0x40000))).toBeNull();
    expect(root.tables.has(tableKey(2, asGfn(0x40000)))).toBe(true);
    expect(setLeaf(w, vm, 'mirror', asGfn(0x200), 1, leaf(0x400, 1))).toBeNull();
    refuse.add('split');
    expect(splitLeaf(w, vm, 'mirror', asGfn(0x200))).toBe('EIO');
    expect(root.leaves[1].has(asGfn(0x200))).toBe(true);
    refuse.clear();
    expect(splitLeaf(w, vm, 'mirror', asGfn(0x200))).toBeNull();
    expect(root.leaves[1].has(asGfn(0x200))).toBe(false);
    expect(root.leaves[0].size).toBe(512);
    expect(root.leaves[0].get(asGfn(0x3ff))).toEqual(leaf(0x5ff));
    expect(root.tables.has(tableKey(1, asGfn(0x200)))).toBe(true);
    expect(setLeaf(w, vm, 'mirror', asGfn(0x3ff), 0, null)).toBeNull();
    expect(root.leaves[0].has(asGfn(0x3ff))).toBe(false);
    unlinkAllTables(w, vm, 'mirror');
    expect(root.tables.size).toBe(0);
    expect(calls).toEqual(['link 2:262144', 'link 2:262144', 'set 1:512', 'split 512', 'split 512', 'remove 0:1023']);
  });

  test('the pre-mapped flag is set by the funnel when the hook defers, and cleared only through it', () => {
    const { w, vm, calls, refuse } = recordingVm();
    refuse.add('premap');
    expect(setLeaf(w, vm, 'mirror', asGfn(9), 0, leaf(300))).toBeNull();
    expect(vm.mmu.mirror.leaves[0].get(asGfn(9))).toEqual({ ...leaf(300), premapped: true });
    clearPremapped(w, vm, asGfn(9));
    expect(vm.mmu.mirror.leaves[0].get(asGfn(9))).toEqual({ ...leaf(300), premapped: false });
    // Clearing it again is no write at all.
    clearPremapped(w, vm, asGfn(9));
    expect(calls).toEqual(['set 0:9']);
  });

  test('the direct root calls no external hook', () => {
    const { w, vm, calls } = recordingVm();
    expect(setLeaf(w, vm, 'direct', asGfn(3), 0, { pfn: asPfn(30), level: 0, private: false })).toBeNull();
    expect(setLeaf(w, vm, 'direct', asGfn(3), 0, null)).toBeNull();
    expect(calls).toEqual([]);
  });
});
