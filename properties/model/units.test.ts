// Levels and sizes are written once, in src/model/units.ts: the sizes of each
// level, the base of the entry that holds a frame or address, and the
// reading of a raw level argument, which refuses what is not a level.

import { describe, expect, test } from 'vitest';
import { bytesAt, levelBase, levelOf, pagesAt, tableLevelsAbove } from '../../src/model/units.js';

describe('units', () => {
  test('pages and bytes per level, from 4K leaves up to a level-4 table', () => {
    expect([0, 1, 2, 3, 4].map((l) => pagesAt(l as 0 | 1 | 2 | 3 | 4))).toEqual([1, 512, 262144, 134217728, 68719476736]);
    expect(bytesAt(1)).toBe(0x200000);
    expect(bytesAt(2)).toBe(0x40000000);
  });

  test('the base of the entry holding a frame or an address', () => {
    expect(levelBase(0x3ff, 1)).toBe(0x200);
    expect(levelBase(0x3ff, 0)).toBe(0x3ff);
    expect(levelBase(0x3ff123, 1, true)).toBe(0x200000);
    expect(levelBase(0x1234, 0, true)).toBe(0x1000);
  });

  test('a raw level is a level only when allowed; 2, 5 and 2^64-1 are not 4K or 2M', () => {
    expect(levelOf(0n, [0, 1])).toBe(0);
    expect(levelOf(1n, [0, 1])).toBe(1);
    for (const v of [2n, 5n, (1n << 64n) - 1n, 1n << 32n]) expect(levelOf(v, [0, 1])).toBe(null);
    expect(levelOf(2n, [0, 1, 2])).toBe(2);
  });

  test('table levels a walk passes, top-down', () => {
    expect(tableLevelsAbove(3, 0)).toEqual([3, 2, 1]);
    expect(tableLevelsAbove(4, 0)).toEqual([4, 3, 2, 1]);
    expect(tableLevelsAbove(4, 1)).toEqual([4, 3, 2]);
  });
});
