// The program stream: program k of a run is generated from its own seed,
// derived from the run's seed and k, so which worker or CI shard runs it
// changes nothing. A shard I/N owns the indices k*N + (I-1).

import fc from 'fast-check';
import { PROFILES, type ProfileName } from '../model/profiles.js';
import type { ACall } from './abstract.js';
import { abstractProgramArb } from './program.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export const NO_SHARD: Shard = { index: 1, count: 1 };

/** A 32-bit mix of the run seed and a program index (splitmix-style). */
export function programSeed(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

/** The global program index of the k-th program of a shard. */
export function shardIndex(shard: Shard, k: number): number {
  return k * shard.count + (shard.index - 1);
}

const arbs = new Map<string, fc.Arbitrary<ACall[]>>();

export function programArb(profile: ProfileName, maxCalls: number): fc.Arbitrary<ACall[]> {
  const key = `${profile}/${maxCalls}`;
  let a = arbs.get(key);
  if (!a) arbs.set(key, (a = abstractProgramArb({ settings: PROFILES[profile].settings, maxCalls })));
  return a;
}

export function programAt(profile: ProfileName, maxCalls: number, seed: number, i: number): ACall[] {
  return fc.sample(programArb(profile, maxCalls), { seed: programSeed(seed, i), numRuns: 1 })[0];
}
