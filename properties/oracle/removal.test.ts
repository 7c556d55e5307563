// The removal checks read the whole step's SEAMCALL log and the whole PAMT,
// so they are written to cost the size of what they read, not its square
// (a punch of a 2 MiB page is 512 frames; a 1 GiB guest has 262,144 PAMT
// entries). These tests pin what those walks must still see: a frame freed
// before the SEAMCALL that took it, a removal written back only before it,
// and a free frame in the middle of a run of PAMT entries.

import { describe, expect, test } from 'vitest';
import type { CheckCtx } from '../../src/invariants/types.js';
import { HUGE_TD, lastStep, messagesOf } from './steps.js';

const PUNCH = `${HUGE_TD}
FALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x0, len=0x200000)`;

/** The punch of the TD's one 2 MiB leaf, as the model answered it (clean). */
function punch(): CheckCtx {
  const { ctx, violations } = lastStep('hugepage', PUNCH, 'removal.prog');
  expect(violations).toEqual([]);
  return ctx;
}

const withLog = (c: CheckCtx, log: CheckCtx['step']['seamcall']['log']): CheckCtx => ({ ...c, step: { ...c.step, seamcall: { ...c.step.seamcall, log } } });

describe('removal-order over a whole step', () => {
  test('a frame freed before the REMOVE or the WBINVD that took it is caught; one freed after both is not', () => {
    const c = punch();
    const log = c.step.seamcall.log;
    const at = log.findIndex((r) => r.name === 'TDH.MEM.PAGE.REMOVE');
    const remove = log[at];
    expect(remove).toMatchObject({ status: 'TDX_SUCCESS', args: { level: 1 } });
    const pfn = 'outPfn' in remove ? remove.outPfn! : -1;
    // The last of its 512 frames, freed before the REMOVE issued.
    const early = { ...c, step: { ...c.step, freedSeq: [...c.step.freedSeq, { pfn: (pfn + 511) as never, count: 1, seq: at, mappedBy: [] }] } };
    expect(messagesOf(early, 'removal-order')).toEqual([`FALLOCATE: PFN 0x${(pfn + 511).toString(16)} was freed by guest_memfd before its TDH.MEM.PAGE.REMOVE`]);
    const between = { ...c, step: { ...c.step, freedSeq: [...c.step.freedSeq, { pfn: (pfn + 511) as never, count: 1, seq: at + 1, mappedBy: [] }] } };
    expect(messagesOf(between, 'removal-order')).toEqual([`FALLOCATE: PFN 0x${(pfn + 511).toString(16)} was freed by guest_memfd before its TDH.PHYMEM.PAGE.WBINVD`]);
    const late = { ...c, step: { ...c.step, freedSeq: [...c.step.freedSeq, { pfn: (pfn + 511) as never, count: 1, seq: log.length, mappedBy: [] }] } };
    expect(messagesOf(late, 'removal-order')).toEqual([]);
  });

  test('a write-back issued before the REMOVE does not count for it', () => {
    const c = punch();
    const log = c.step.seamcall.log;
    const flushes = log.filter((r) => r.name === 'TDH.PHYMEM.PAGE.WBINVD');
    expect(flushes.length).toBeGreaterThan(0);
    const rest = log.filter((r) => r.name !== 'TDH.PHYMEM.PAGE.WBINVD');
    expect(messagesOf(withLog(c, [...flushes, ...rest]), 'removal-order')[0]).toMatch(/PFN 0x[0-9a-f]+, removed from GPA 0x0 by TDH.MEM.PAGE.REMOVE, was never written back/);
    expect(messagesOf(withLog(c, [...rest, ...flushes]), 'removal-order')).toEqual([]);
  });
});

describe('full sweeps over runs of PAMT entries', () => {
  /** The TD with its 2 MiB leaf mapped, swept whole after one frame inside the page is put on the free list. */
  function freedInside(offset: number): Record<string, string[]> {
    const { ctx } = lastStep('hugepage', HUGE_TD, 'pamt.prog');
    const leaf = [...ctx.world.tdx.tds.values()][0].leaves[1].values().next().value!;
    const full = { ...ctx, full: true };
    const clean = { liveness: messagesOf(full, 'frame-liveness'), order: messagesOf(full, 'removal-order') };
    expect(clean).toEqual({ liveness: [], order: [] });
    const pfn = leaf.pfn + offset;
    const segs = ctx.world.pfns.free.segs;
    segs.push({ start: pfn, end: pfn + 1, value: true });
    segs.sort((a, b) => a.start - b.start);
    return { pfn: [`0x${pfn.toString(16)}`], liveness: messagesOf(full, 'frame-liveness'), order: messagesOf(full, 'removal-order') };
  }

  test.each([0, 200, 511])('a free frame at offset %i of a 2 MiB page the PAMT assigns is caught by both', (offset) => {
    const r = freedInside(offset);
    expect(r.order).toEqual([expect.stringMatching(new RegExp(`PFN ${r.pfn[0]} is free in the host allocator while the PAMT still assigns it to TD \\d+ as PT_REG`))]);
    expect(r.liveness).toContain(`KVM_PRE_FAULT_MEMORY: PFN ${r.pfn[0]} is free in the host allocator while the PAMT assigns it to TD 1 as PT_REG`);
  });
});
