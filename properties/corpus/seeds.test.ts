// The seed discussions as programs, replayed under the designs they compare:
// the same program gives each design's answer, and the flawed designs trip
// the invariant that names their flaw.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { replayProgram } from '../../src/replay/replay.js';
import type { Program } from '../../src/program/types.js';

const load = (f: string): Program => {
  const r = parseProgram(readFileSync(join(import.meta.dirname, '..', '..', 'corpus', 'spec', f), 'utf8'), f);
  if (!r.ok) throw new Error(r.error.message);
  return r.program;
};
const results = (p: Program, profile: string) => replayProgram(p, { profile }).report.steps.map((s) => s.result);
const ids = (p: Program, profile: string) => replayProgram(p, { profile }).report.violations.map((v) => v.invariant);

describe('seed 000: a second INIT_MEM_REGION of the same GPA', () => {
  const p = load('seed-000-double-add.prog');
  test('upstream: EIO with no SEAMCALL, the VM still runs', () => {
    const r = replayProgram(p, { profile: 'upstream' });
    expect(r.report.steps[10].result).toEqual({ kind: 'errno', name: 'EIO' });
    expect(r.report.steps[10].seamcalls).toEqual([]);
    expect(r.report.steps[11].result).toEqual({ kind: 'int', value: 0n });
    expect(r.report.violations).toEqual([]);
  });
  test('g1: EEXIST from guest_memfd, before any TDX code', () => {
    const r = replayProgram(p, { profile: 'g1' });
    expect(r.report.steps[10].result).toEqual({ kind: 'errno', name: 'EEXIST' });
    expect(r.report.steps[10].seamcalls).toEqual([]);
    expect(r.report.violations).toEqual([]);
  });
  test('with the map path ignoring the present leaf, a second PAGE.ADD is issued', () => {
    const r = replayProgram(p, { profile: 'upstream', bug: ['map-ignores-present-leaf'] });
    expect(r.report.steps[10].seamcalls.map((s) => s.name)).toContain('TDH.MEM.PAGE.ADD');
    expect(r.report.violations.map((v) => v.invariant)).toContain('no-double-add');
  });
});

describe('seed 000: source=0', () => {
  const upstream = load('tdx-init-mem-region.prog');
  test('upstream rejects it with EINVAL and no SEAMCALL', () => {
    const r = replayProgram(upstream, { profile: 'upstream' });
    const i = upstream.calls.findIndex((c) => c.op === 'KVM_TDX_INIT_MEM_REGION' && c.args.source?.kind === 'int' && c.args.source.value === 0n);
    expect(r.report.steps[i].result).toEqual({ kind: 'errno', name: 'EINVAL' });
    expect(r.report.steps[i].seamcalls).toEqual([]);
  });
  test('inplace adds the target page with what userspace wrote while it was shared', () => {
    const p = load('seed-000-null-source-inplace.prog');
    const r = replayProgram(p, { profile: 'inplace' });
    expect(r.mismatches).toEqual([]);
    expect(r.report.violations).toEqual([]);
  });
  test('null-source-target succeeds without in-place conversion and trips null-source', () => {
    const r = replayProgram(upstream, { profile: 'null-source-target' });
    const i = upstream.calls.findIndex((c) => c.op === 'KVM_TDX_INIT_MEM_REGION' && c.args.source?.kind === 'int' && c.args.source.value === 0n);
    expect(r.report.steps[i].result).toEqual({ kind: 'int', value: 0n });
    expect(r.report.steps[i].violations.map((v) => v.invariant)).toEqual(['null-source']);
  });
});

describe('seed 001: unmapping a 2 MiB mapping after its folio was split', () => {
  const p = load('seed-001-folio-split.prog');
  test('hugepage (PFN wrappers): succeeds, VM healthy', () => {
    expect(ids(p, 'hugepage')).toEqual([]);
    expect(results(p, 'hugepage')[18]).toEqual({ kind: 'int', value: 0n });
  });
  test('hugepage-folio: the WBINVD wrapper refuses, the VM is bugged, and the invariant names it', () => {
    const r = replayProgram(p, { profile: 'hugepage-folio' });
    expect(r.report.steps[17].seamcalls.at(-1)).toMatchObject({ name: 'TDH.PHYMEM.PAGE.WBINVD', status: 'TDX_OPERAND_INVALID' });
    expect(r.report.steps[17].violations.map((v) => v.invariant)).toEqual(['hugepage-folio-agnostic']);
    expect(r.report.steps[18].result).toEqual({ kind: 'errno', name: 'EIO' });
  });
});
