// Seeds: a number is used as is; any other string goes through seedrandom,
// so `--seed nightly-2026-11-22` names the same run everywhere.

import seedrandom from 'seedrandom';

export function seedFrom(s: string | number | undefined): number {
  if (s === undefined) return (Math.random() * 0x7fffffff) | 0;
  if (typeof s === 'number') return s | 0;
  if (/^-?\d+$/.test(s) && Math.abs(Number(s)) <= 0x7fffffff) return Number(s) | 0;
  return seedrandom(s).int32();
}
