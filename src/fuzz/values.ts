// Value arbitraries biased toward what finds bugs: page, 2 MiB and 1 GiB
// boundaries, a small pool of GPAs and offsets that calls keep reusing (so a
// second INIT_MEM_REGION of the same GPA is common), ranges straddling slot
// and folio ends, the TDX shared bit, NULL, u64 extremes, and invalid values
// next to valid ones.

import fc from 'fast-check';
import { aint, type AVal } from './abstract.js';

export const U64 = (1n << 64n) - 1n;
const K = 0x1000n;
const M2 = 0x200000n;
const G1 = 0x40000000n;
export const SHARED = 1n << 47n;

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/** Extremes and invalid spellings every numeric key sometimes gets. */
const extreme = fc.constantFrom(0n, 1n, 0x800n, 0x10n, U64, U64 - 0xfffn, 1n << 63n, (1n << 63n) - K, 1n << 52n);

/** GPAs: mostly a few pages of the first slot, reused call after call. */
export const gpa = fc.oneof(
  w(10, fc.integer({ min: 0, max: 7 }).map((i) => BigInt(i) * K)),
  w(3, fc.constantFrom(M2, M2 + K, 2n * M2, 3n * M2, M2 - K, G1 - K, 0x1000000n)),
  w(1, fc.integer({ min: 0, max: 3 }).map((i) => SHARED | (BigInt(i) * K))),
  w(1, extreme),
);

/** Sizes of ranges: a page or two, a huge page, whole files, and wrong ones. */
export const size = fc.oneof(
  w(8, fc.constantFrom(K, 2n * K, 4n * K)),
  w(3, fc.constantFrom(M2, 2n * M2, G1, 1n << 40n)),
  w(1, extreme),
);

/** guest_memfd offsets, on the same pool as GPAs so slots line up with their files. */
export const offset = fc.oneof(
  w(10, fc.integer({ min: 0, max: 7 }).map((i) => BigInt(i) * K)),
  w(3, fc.constantFrom(M2, 2n * M2, M2 - K, 0x1000000n)),
  w(1, extreme),
);

export const nrPages = fc.oneof(w(8, fc.constantFrom(1n, 2n, 4n)), w(1, fc.constantFrom(0n, 512n, 1n << 52n, U64)));

export const byte = fc.constantFrom(0n, 0x11n, 0xaan, 0xffn);

export const smallFlag = fc.oneof(w(12, fc.constant(0n)), w(1, fc.constantFrom(1n, 2n, 1n << 40n)));

/** A host address: mostly a source page of an existing mapping, sometimes NULL or junk. */
export const addr: fc.Arbitrary<AVal> = fc.oneof(
  w(8, fc.record({ pick: fc.nat(3), page: fc.nat(3) }).map(({ pick, page }): AVal => ({ k: 'map', pick, off: BigInt(page) * K }))),
  w(2, fc.constant(aint(0))),
  w(1, fc.record({ pick: fc.nat(3) }).map(({ pick }): AVal => ({ k: 'map', pick, off: 0x10n }))),
  w(1, extreme.map(aint)),
);

export const int = (a: fc.Arbitrary<bigint>): fc.Arbitrary<AVal> => a.map(aint);

/**
 * True with probability `p`, exactly. fc.double() cannot serve: its bias
 * draws values at and near `min` far more often than their share (below
 * 0.2 of [0, 1] in about 93% of draws, not 20%), so `double < p` was true
 * almost always. Shrinking heads for the likelier outcome, so a shrunk
 * program keeps the common shape unless the rare one is needed.
 */
export function chance(p: number): fc.Arbitrary<boolean> {
  const n = Math.round(p * 1000);
  return fc.noBias(fc.integer({ min: 0, max: 999 })).map((x) => (p >= 0.5 ? x < n : x >= 1000 - n));
}
