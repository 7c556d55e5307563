// One program per signature (invariant, design and shape): the same failure
// reached with other values or other handle names is counted, not saved
// again; another call sequence, invariant or design is a new program.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import type { Program } from '../../src/program/types.js';
import { saveFinding, signature } from '../../src/fuzz/save.js';
import { mergeCorpora } from '../../src/corpus/merge.js';

const root = join(import.meta.dirname, '..', '..');
const file = join(root, 'corpus', 'found', 'removal-order-90a7f00d.prog');
const base = (() => { const r = parseProgram(readFileSync(file, 'utf8'), file); if (!r.ok) throw new Error('parse'); return r.program; })();
const meta = { invariant: 'removal-order', profile: 'upstream', bugs: ['remove-without-track'], seed: 1, path: '0', message: 'm' };
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-dedup-'));

/** The same calls with every integer argument changed and handles renamed. */
function variant(p: Program): Program {
  const rename = (n: string) => `x${n}`;
  return {
    headers: p.headers,
    calls: p.calls.map((c) => ({
      ...c, bind: c.bind ? rename(c.bind) : undefined, handles: c.handles.map(rename),
      args: Object.fromEntries(Object.entries(c.args).map(([k, v]) => [k, v.kind === 'int' ? { kind: 'int', value: v.value + 0x1000n } : { ...v, name: rename(v.name) }])),
    })) as Program['calls'],
  };
}

describe('dedup by signature', () => {
  test('other values and handle names: same signature, counted not saved', () => {
    const dir = tmp();
    expect(saveFinding(dir, base, meta).isNew).toBe(true);
    const again = saveFinding(dir, variant(base), meta);
    expect(again.isNew).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.prog'))).toHaveLength(1);
  });

  test('another invariant, design or call sequence is a new signature', () => {
    const sig = signature(base, meta.invariant, meta.profile, meta.bugs);
    expect(signature(base, 'no-dangling-sept', meta.profile, meta.bugs)).not.toBe(sig);
    expect(signature(base, meta.invariant, 'g1', meta.bugs)).not.toBe(sig);
    expect(signature(base, meta.invariant, meta.profile, [])).not.toBe(sig);
    expect(signature({ ...base, calls: base.calls.slice(0, -1) }, meta.invariant, meta.profile, meta.bugs)).not.toBe(sig);
  });

  test('merging a corpus into itself adds nothing, whatever the file names', () => {
    const dir = tmp();
    mergeCorpora([join(root, 'corpus', 'found')], dir);
    const r = mergeCorpora([join(root, 'corpus', 'found')], dir);
    expect(r.added).toEqual([]);
    expect(r.duplicates).toBe(readdirSync(join(root, 'corpus', 'found')).filter((f) => f.endsWith('.prog')).length);
  });
});
