// The simulated TDX module enforces the architecture by itself: a table of
// SEAMCALLs against entry states, the golden MRTD of a fixed build, and the
// bookkeeping of child counts and PAMT.

import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { newPhysMem, writeFrame } from '../../src/model/phys.js';
import * as sc from '../../src/model/tdx/seamcall.js';
import { mrtdDigest } from '../../src/model/tdx/mrtd.js';
import { newTdxModule, type TdxModule } from '../../src/model/tdx/state.js';
import { asGpa, asPfn } from '../../src/model/units.js';
import { pamtAssign, pamtRelease } from '../../src/model/tdx/pamt.js';
import { pamtRuns } from '../../src/model/view.js';

const TDR = asPfn(0x1000);
let nextPfn = 0x2000;
const pfn = () => asPfn(nextPfn++);

/** A TD built to INITIALIZED with one vCPU and the S-EPT tables for GPA 0..1G. */
function td(m: TdxModule, ctx = sc.newSeamcallCtx()) {
  const c = sc.tdhMngCreate(m, ctx, pfn(), 7);
  const id = c.td!;
  sc.tdhMngKeyConfig(m, ctx, id);
  sc.tdhMngInit(m, ctx, id);
  const vp = sc.tdhVpCreate(m, ctx, id, pfn()).vp!;
  sc.tdhVpInit(m, ctx, vp);
  for (const level of [3, 2, 1] as const) expect(sc.tdhMemSeptAdd(m, ctx, id, asGpa(0), level, pfn()).status).toBe('TDX_SUCCESS');
  return { id, ctx };
}

function fresh() {
  const m = newTdxModule(newPhysMem());
  return { m, ...td(m) };
}

describe('S-EPT state machine', () => {
  test('PAGE.ADD: FREE -> MAPPED, a second ADD is refused, ADD after finalize is refused', () => {
    const { m, id, ctx } = fresh();
    const p = pfn();
    expect(sc.tdhMemPageAdd(m, ctx, id, asGpa(0), p, pfn()).status).toBe('TDX_SUCCESS');
    expect(sc.septLeafAt(m, id, 0)).toMatchObject({ state: 'MAPPED', pfn: p, level: 0 });
    expect(sc.tdhMemPageAdd(m, ctx, id, asGpa(0), pfn(), pfn()).status).toBe('TDX_EPT_ENTRY_STATE_INCORRECT');
    expect(sc.tdhMemPageAdd(m, ctx, id, asGpa(0x1000), p, pfn()).status).toBe('TDX_PAGE_METADATA_INCORRECT');
    expect(sc.tdhMrFinalize(m, ctx, id).status).toBe('TDX_SUCCESS');
    expect(sc.tdhMemPageAdd(m, ctx, id, asGpa(0x2000), pfn(), pfn()).status).toBe('TDX_OP_STATE_INCORRECT');
    expect(sc.tdhMrExtend(m, ctx, id, asGpa(0)).status).toBe('TDX_OP_STATE_INCORRECT');
  });

  test('PAGE.AUG only after finalize; 2M needs alignment and a free range, nothing about how it was allocated', () => {
    const { m, id, ctx } = fresh();
    expect(sc.tdhMemPageAug(m, ctx, id, asGpa(0x200000), 1, asPfn(0x200000)).status).toBe('TDX_OP_STATE_INCORRECT');
    sc.tdhMrFinalize(m, ctx, id);
    expect(sc.tdhMemPageAug(m, ctx, id, asGpa(0x201000), 1, asPfn(0x200000)).status).toBe('TDX_OPERAND_INVALID');
    expect(sc.tdhMemPageAug(m, ctx, id, asGpa(0x200000), 1, asPfn(0x200100)).status).toBe('TDX_OPERAND_INVALID');
    pamtAssign(m, asPfn(0x2001ff), 0, 'PT_REG', 99);
    expect(sc.tdhMemPageAug(m, ctx, id, asGpa(0x200000), 1, asPfn(0x200000)).status).toBe('TDX_PAGE_METADATA_INCORRECT');
    pamtRelease(m, asPfn(0x2001ff), 0);
    expect(sc.tdhMemPageAug(m, ctx, id, asGpa(0x200000), 1, asPfn(0x200000)).status).toBe('TDX_SUCCESS');
    expect(sc.septLeafAt(m, id, 0x3ff000)).toMatchObject({ state: 'PENDING', level: 1 });
    expect(m.tds.get(id)!.childCount).toBe(512);
    // A 4K table cannot go where a 2M leaf is.
    expect(sc.tdhMemSeptAdd(m, ctx, id, asGpa(0x200000), 1, pfn()).status).toBe('TDX_EPT_ENTRY_STATE_INCORRECT');
  });

  test('REMOVE in RUNNABLE needs BLOCK and a completed TRACK; before finalize it needs neither', () => {
    const { m, id, ctx } = fresh();
    sc.tdhMemPageAdd(m, ctx, id, asGpa(0), pfn(), pfn());
    expect(sc.tdhMemPageRemove(m, ctx, id, asGpa(0), 0).status).toBe('TDX_SUCCESS');
    sc.tdhMemPageAdd(m, ctx, id, asGpa(0), pfn(), pfn());
    sc.tdhMrFinalize(m, ctx, id);
    expect(sc.tdhMemPageRemove(m, ctx, id, asGpa(0), 0).status).toBe('TDX_GPA_RANGE_NOT_BLOCKED');
    expect(sc.tdhMemRangeBlock(m, ctx, id, asGpa(0), 0).status).toBe('TDX_SUCCESS');
    expect(sc.tdhMemRangeBlock(m, ctx, id, asGpa(0), 0).status).toBe('TDX_GPA_RANGE_ALREADY_BLOCKED');
    expect(sc.tdhMemPageRemove(m, ctx, id, asGpa(0), 0).status).toBe('TDX_TLB_TRACKING_NOT_DONE');
    expect(sc.tdhMemTrack(m, ctx, id).status).toBe('TDX_SUCCESS');
    const r = sc.tdhMemPageRemove(m, ctx, id, asGpa(0), 0);
    expect(r.status).toBe('TDX_SUCCESS');
    expect(sc.septLeafAt(m, id, 0)).toBeUndefined();
    expect(m.tds.get(id)!.childCount).toBe(0);
    expect(sc.tdhPhymemPageWbinvd(m, ctx, 7, r.pfn!, 0).status).toBe('TDX_SUCCESS');
  });

  test('DEMOTE splits a blocked, tracked 2M leaf into 512 leaves of the same state', () => {
    const { m, id, ctx } = fresh();
    sc.tdhMrFinalize(m, ctx, id);
    sc.tdhMemPageAug(m, ctx, id, asGpa(0x200000), 1, asPfn(0x400000));
    expect(sc.tdhMemPageDemote(m, ctx, id, asGpa(0x200000), 1, pfn()).status).toBe('TDX_GPA_RANGE_NOT_BLOCKED');
    sc.tdhMemRangeBlock(m, ctx, id, asGpa(0x200000), 1);
    sc.tdhMemTrack(m, ctx, id);
    expect(sc.tdhMemPageDemote(m, ctx, id, asGpa(0x200000), 1, pfn()).status).toBe('TDX_SUCCESS');
    expect(sc.septLeafAt(m, id, 0x201000)).toMatchObject({ level: 0, state: 'PENDING', pfn: 0x400001 });
    expect(m.tds.get(id)!.childCount).toBe(512);
  });

  test('ACCEPT: PENDING -> MAPPED, size mismatch inside a 2M leaf, EPT violation when nothing is mapped', () => {
    const { m, id, ctx } = fresh();
    sc.tdhMrFinalize(m, ctx, id);
    expect(sc.tdgMemPageAccept(m, id, asGpa(0x1000), 0)).toEqual({ kind: 'ept-violation' });
    sc.tdhMemPageAug(m, ctx, id, asGpa(0x1000), 0, pfn());
    expect(sc.guestWalk(m, id, asGpa(0x1000)).state).toBe('PENDING');
    expect(sc.tdgMemPageAccept(m, id, asGpa(0x1000), 0)).toEqual({ kind: 'status', status: 'TDX_SUCCESS' });
    expect(sc.tdgMemPageAccept(m, id, asGpa(0x1000), 0)).toEqual({ kind: 'status', status: 'TDX_PAGE_ALREADY_ACCEPTED' });
    sc.tdhMemPageAug(m, ctx, id, asGpa(0x200000), 1, asPfn(0x600000));
    expect(sc.tdgMemPageAccept(m, id, asGpa(0x201000), 0)).toEqual({ kind: 'status', status: 'TDX_PAGE_SIZE_MISMATCH' });
    expect(sc.tdgMemPageAccept(m, id, asGpa(0x200000), 1)).toEqual({ kind: 'status', status: 'TDX_SUCCESS' });
  });

  test('FINALIZE needs an initialized vCPU', () => {
    const m = newTdxModule(newPhysMem());
    const ctx = sc.newSeamcallCtx();
    const id = sc.tdhMngCreate(m, ctx, TDR, 1).td!;
    sc.tdhMngKeyConfig(m, ctx, id);
    sc.tdhMngInit(m, ctx, id);
    expect(sc.tdhMrFinalize(m, ctx, id).status).toBe('TDX_NO_VCPUS');
  });

  test('[busy=N] makes exactly the N-th SEAMCALL busy, once, with no effect', () => {
    const m = newTdxModule(newPhysMem());
    const ctx = sc.newSeamcallCtx(2);
    const id = sc.tdhMngCreate(m, ctx, pfn(), 1).td!;
    expect(sc.tdhMngKeyConfig(m, ctx, id).status).toBe('TDX_OPERAND_BUSY');
    expect(m.tds.get(id)!.keyConfigured).toBe(false);
    expect(sc.tdhMngKeyConfig(m, ctx, id).status).toBe('TDX_SUCCESS');
    expect(ctx.log.map((r) => r.status)).toEqual(['TDX_SUCCESS', 'TDX_OPERAND_BUSY', 'TDX_SUCCESS']);
  });

  test('the HKID is freed only once the TD owns no guest page; control pages come back only after, the TDR last', () => {
    const { m, id, ctx } = fresh();
    sc.tdhMemPageAdd(m, ctx, id, asGpa(0), pfn(), pfn());
    sc.tdhMngVpflushdone(m, ctx, id);
    expect(sc.tdhPhymemPageReclaim(m, ctx, m.tds.get(id)!.tdr).status).toBe('TDX_OP_STATE_INCORRECT');
    expect(sc.tdhMngKeyFreeid(m, ctx, id).status).toBe('TDX_OP_STATE_INCORRECT');
    sc.tdhMemPageRemove(m, ctx, id, asGpa(0), 0);
    expect(sc.tdhMngKeyFreeid(m, ctx, id).status).toBe('TDX_SUCCESS');
    // The TDR comes back last: while any other page of the TD is assigned
    // the module refuses it (TDR.CHLDCNT != 0).
    const tdr = m.tds.get(id)!.tdr;
    const others = pamtRuns(m).filter((s) => s.value.owner === id).flatMap((s) => Array.from({ length: s.end - s.start }, (_, i) => s.start + i)).filter((p) => p !== tdr).map(asPfn);
    expect(others.length).toBeGreaterThan(0);
    expect(sc.tdhPhymemPageReclaim(m, ctx, tdr).status).toBe('TDX_TD_ASSOCIATED_PAGES_EXIST');
    for (const p of others) expect(sc.tdhPhymemPageReclaim(m, ctx, p).status).toBe('TDX_SUCCESS');
    expect(sc.tdhPhymemPageReclaim(m, ctx, tdr).status).toBe('TDX_SUCCESS');
  });
});

describe('S-EPT depth', () => {
  test('a level-4 table exists only in a TD initialized with MAX_GPAW (5-level S-EPT)', () => {
    for (const maxGpaw of [false, true]) {
      const m = newTdxModule(newPhysMem());
      const ctx = sc.newSeamcallCtx();
      const id = sc.tdhMngCreate(m, ctx, pfn(), 7).td!;
      sc.tdhMngKeyConfig(m, ctx, id);
      sc.tdhMngInit(m, ctx, id, { maxGpaw });
      expect(sc.tdhMemSeptAdd(m, ctx, id, asGpa(0), 4, pfn()).status).toBe(maxGpaw ? 'TDX_SUCCESS' : 'TDX_OPERAND_INVALID');
      // Under a 5-level root a level-3 table needs the level-4 one above it (here for the next 256 TiB).
      expect(sc.tdhMemSeptAdd(m, ctx, id, asGpa(2 ** 48), 3, pfn()).status).toBe(maxGpaw ? 'TDX_EPT_WALK_FAILED' : 'TDX_SUCCESS');
    }
  });
});

describe('MRTD', () => {
  /**
   * The expected digest, built here from the documented layout and not from
   * src/model/tdx/mrtd.ts: SHA-384 over one 128-byte record per measured
   * operation, its name in ASCII at byte 0 and the GPA (u64, little-endian)
   * at byte 16, and for MR.EXTEND the 256 measured bytes after the record.
   */
  const expected = (ops: Array<['MEM.PAGE.ADD', number] | ['MR.EXTEND', number, number]>): string => {
    const h = createHash('sha384');
    for (const op of ops) {
      const rec = new Uint8Array(128);
      for (let i = 0; i < op[0].length; i++) rec[i] = op[0].charCodeAt(i);
      new DataView(rec.buffer).setBigUint64(16, BigInt(op[1]), true);
      h.update(rec);
      if (op[0] === 'MR.EXTEND') h.update(new Uint8Array(256).fill(op[2]));
    }
    return h.digest('hex');
  };
  // The same digest as a literal, so that a change of the test's own encoder shows too.
  const GOLDEN = '6041bee83e1588c97bb9dd3be9f29a2dbe586ca2e765d6b3a118da9f84469b699c9bb6f7e0382246374f1a36dd530520';

  test('a fixed build sequence gives the digest of the documented layout, and finalize freezes it', () => {
    const phys = newPhysMem();
    const m = newTdxModule(phys);
    const { id, ctx } = td(m);
    const src = pfn();
    writeFrame(phys, src, 0xaa);
    sc.tdhMemPageAdd(m, ctx, id, asGpa(0), pfn(), src);
    for (let k = 0; k < 16; k++) sc.tdhMrExtend(m, ctx, id, asGpa(k * 256));
    sc.tdhMemPageAdd(m, ctx, id, asGpa(0x1000), pfn(), pfn());
    const t = m.tds.get(id)!;
    const want = expected([
      ['MEM.PAGE.ADD', 0],
      ...Array.from({ length: 16 }, (_, k) => ['MR.EXTEND', k * 256, 0xaa] as ['MR.EXTEND', number, number]),
      ['MEM.PAGE.ADD', 0x1000],
    ]);
    expect(want).toBe(GOLDEN);
    const before = mrtdDigest(t);
    expect(before).toBe(want);
    sc.tdhMrFinalize(m, ctx, id);
    expect(mrtdDigest(t)).toBe(before);
  });

  test('the digest depends on content and order', () => {
    const build = (byte: number, swap: boolean) => {
      const phys = newPhysMem();
      const m = newTdxModule(phys);
      const { id, ctx } = td(m);
      const src = pfn();
      writeFrame(phys, src, byte);
      const gpas = swap ? [0x1000, 0] : [0, 0x1000];
      for (const g of gpas) {
        sc.tdhMemPageAdd(m, ctx, id, asGpa(g), pfn(), src);
        sc.tdhMrExtend(m, ctx, id, asGpa(g));
      }
      return mrtdDigest(m.tds.get(id)!);
    };
    expect(build(1, false)).not.toBe(build(2, false));
    expect(build(1, false)).not.toBe(build(1, true));
    expect(build(1, false)).toBe(build(1, false));
  });
});
