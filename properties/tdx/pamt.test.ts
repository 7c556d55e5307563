// The PAMT is stored as runs of frames with equal entries; what each frame
// holds must be what one entry per frame would hold, whatever the order of
// assignments and releases at 4 KiB and 2 MiB.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { newPhysMem } from '../../src/model/phys.js';
import { pamtAssign, pamtFree, pamtGet, pamtOwnsOther, pamtRelease } from '../../src/model/tdx/pamt.js';
import { newTdxModule, type PamtEntry, type PamtType } from '../../src/model/tdx/state.js';
import { asPfn, pagesAt, type Level } from '../../src/model/units.js';

/** Frames 0..2047: four 2 MiB pages, so runs meet, merge and split across page ends. */
const FRAMES = 2048;
const op = fc.record({
  kind: fc.constantFrom('assign', 'release'),
  level: fc.constantFrom<Level>(0, 1),
  page: fc.nat({ max: FRAMES - 1 }),
  type: fc.constantFrom<PamtType>('PT_REG', 'PT_EPT', 'TDCX'),
  owner: fc.integer({ min: 1, max: 2 }),
});

describe('PAMT runs', () => {
  test('every frame reads what one entry per frame would hold, and range checks agree', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.array(fc.nat({ max: FRAMES - 1 }), { minLength: 5, maxLength: 5 }), (ops, probes) => {
      const m = newTdxModule(newPhysMem());
      const ref = new Map<number, PamtEntry>();
      for (const o of ops) {
        const n = pagesAt(o.level);
        const base = o.page - (o.page % n);
        if (base + n > FRAMES) continue;
        if (o.kind === 'assign') {
          pamtAssign(m, asPfn(base), o.level, o.type, o.owner);
          for (let i = 0; i < n; i++) ref.set(base + i, { type: o.type, owner: o.owner, level: o.level });
        } else {
          pamtRelease(m, asPfn(base), o.level);
          for (let i = 0; i < n; i++) ref.delete(base + i);
        }
      }
      for (let f = 0; f < FRAMES; f++) expect(pamtGet(m, asPfn(f)), `frame ${f}`).toEqual(ref.get(f));
      for (const p of probes) {
        for (const count of [1, 512]) {
          const start = p - (p % count);
          let free = true;
          for (let i = 0; i < count; i++) if (ref.has(start + i)) free = false;
          expect(pamtFree(m, asPfn(start), count), `[${start}, +${count})`).toBe(free);
        }
        const e = ref.get(p);
        if (e) {
          const other = [...ref].some(([f, x]) => x.owner === e.owner && f !== p);
          expect(pamtOwnsOther(m, e.owner, asPfn(p))).toBe(other);
        }
      }
      // Neighbouring runs that every frame would read alike are one run.
      for (let i = 1; i < m.pamt.segs.length; i++) {
        const [a, b] = [m.pamt.segs[i - 1], m.pamt.segs[i]];
        const alike = a.value.type === b.value.type && a.value.owner === b.value.owner && a.value.level === b.value.level;
        expect(a.end === b.start && alike, `runs ${a.start}..${a.end} and ${b.start}..${b.end}`).toBe(false);
      }
    }), { numRuns: 200, seed: 1 });
  });

  test('a 2 MiB page is one run, whatever its 512 frames', () => {
    const m = newTdxModule(newPhysMem());
    pamtAssign(m, asPfn(0x200), 1, 'PT_REG', 1);
    expect(m.pamt.segs).toHaveLength(1);
    expect(pamtGet(m, asPfn(0x3ff))).toEqual({ type: 'PT_REG', owner: 1, level: 1 });
    expect(pamtGet(m, asPfn(0x400))).toBeUndefined();
    pamtRelease(m, asPfn(0x200), 1);
    expect(m.pamt.segs).toHaveLength(0);
  });
});
