// SEAMCALL records are a union keyed by the leaf name, each leaf with exactly
// its own operands and before-state. The union is a type; check that what the
// wrappers actually log matches it, over every corpus program, so a wrapper
// cannot log an operand or a field its leaf's type does not declare.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { replayProgram } from '../../src/replay/replay.js';
import type { IssuedRecord, SeamcallName, SeamcallRecord } from '../../src/model/tdx/seamcall.js';
import { parseProgram } from '../../src/program/parser.js';

type Issued<N extends SeamcallName> = Extract<IssuedRecord, { name: N }>;
type Keys<N extends SeamcallName> = { args: Array<keyof Issued<N>['args']>; fields: Array<Exclude<keyof Issued<N>, 'args'>> };

/**
 * Per leaf: its operands and its other fields, as the compiler checks them
 * against the leaf's record type (a misspelt or foreign key does not compile). outPfn
 * and refusedByWrapper are optional and checked separately.
 */
const SHAPE: { [N in SeamcallName]: Keys<N> } = {
  'TDH.MNG.CREATE': { args: ['tdr', 'hkid'], fields: ['name', 'td', 'status'] },
  'TDH.MNG.KEY.CONFIG': { args: [], fields: ['name', 'td', 'status'] },
  'TDH.MNG.ADDCX': { args: ['pfn'], fields: ['name', 'td', 'status'] },
  'TDH.MNG.INIT': { args: [], fields: ['name', 'td', 'status'] },
  'TDH.VP.CREATE': { args: ['tdvpr'], fields: ['name', 'td', 'status'] },
  'TDH.VP.ADDCX': { args: ['vp', 'pfn'], fields: ['name', 'td', 'status'] },
  'TDH.VP.INIT': { args: ['vp'], fields: ['name', 'td', 'status'] },
  'TDH.VP.FLUSH': { args: ['vp'], fields: ['name', 'td', 'status'] },
  'TDH.MNG.VPFLUSHDONE': { args: [], fields: ['name', 'td', 'status'] },
  'TDH.PHYMEM.CACHE.WB': { args: [], fields: ['name', 'td', 'status'] },
  'TDH.MNG.KEY.FREEID': { args: [], fields: ['name', 'td', 'status'] },
  'TDH.MR.FINALIZE': { args: [], fields: ['name', 'td', 'status', 'opStateBefore'] },
  'TDH.PHYMEM.PAGE.RECLAIM': { args: ['pfn'], fields: ['name', 'td', 'status', 'pamtBefore'] },
  'TDH.MEM.SEPT.ADD': { args: ['gpa', 'level', 'pfn'], fields: ['name', 'td', 'status', 'pamtBefore'] },
  'TDH.MEM.PAGE.ADD': { args: ['gpa', 'pfn', 'src'], fields: ['name', 'td', 'status', 'entryBefore', 'pamtBefore', 'opStateBefore'] },
  'TDH.MEM.PAGE.AUG': { args: ['gpa', 'level', 'pfn'], fields: ['name', 'td', 'status', 'entryBefore', 'pamtBefore', 'opStateBefore'] },
  'TDH.MEM.RANGE.BLOCK': { args: ['gpa', 'level'], fields: ['name', 'td', 'status', 'entryBefore'] },
  'TDH.MEM.TRACK': { args: [], fields: ['name', 'td', 'status', 'opStateBefore'] },
  'TDH.MEM.PAGE.REMOVE': { args: ['gpa', 'level'], fields: ['name', 'td', 'status', 'entryBefore', 'opStateBefore'] },
  'TDH.MEM.PAGE.DEMOTE': { args: ['gpa', 'level', 'pfn'], fields: ['name', 'td', 'status', 'entryBefore'] },
  'TDH.MR.EXTEND': { args: ['gpa'], fields: ['name', 'td', 'status', 'opStateBefore'] },
  'TDH.PHYMEM.PAGE.WBINVD': { args: ['hkid', 'pfn', 'level'], fields: ['name', 'td', 'status'] },
};

const FREEING = new Set<SeamcallName>(['TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD']);

function corpusRecords(): SeamcallRecord[] {
  const out: SeamcallRecord[] = [];
  for (const dir of ['spec', 'found']) {
    const root = join(import.meta.dirname, '..', '..', 'corpus', dir);
    for (const f of readdirSync(root).filter((x) => x.endsWith('.prog'))) {
      const r = parseProgram(readFileSync(join(root, f), 'utf8'), f);
      if (!r.ok) throw new Error(r.error.message);
      for (const s of replayProgram(r.program, {}).report.steps) out.push(...s.seamcalls);
    }
  }
  return out;
}

describe('SEAMCALL records carry exactly the fields of their leaf', () => {
  const records = corpusRecords();

  test('the corpus issues most leaves, and a wrapper refusal', () => {
    expect(new Set(records.map((r) => r.name)).size).toBeGreaterThanOrEqual(15);
    expect(records.some((r) => 'refusedByWrapper' in r)).toBe(true);
  });

  test('every logged record has its leaf operands and fields, and nothing else', () => {
    for (const r of records) {
      const shape: { args: readonly string[]; fields: readonly string[] } = SHAPE[r.name];
      expect(Object.keys(r.args).sort(), r.name).toEqual([...shape.args].sort());
      const refused = 'refusedByWrapper' in r;
      // A refusal never reached the module, so it found no state.
      const fields = refused ? ['name', 'td', 'status', 'refusedByWrapper'] : [...shape.fields, ...('outPfn' in r ? ['outPfn'] : [])];
      expect(Object.keys(r).filter((k) => k !== 'args').sort(), r.name).toEqual(fields.sort());
      if ('outPfn' in r) expect(FREEING.has(r.name) && r.status === 'TDX_SUCCESS', r.name).toBe(true);
    }
  });
});
