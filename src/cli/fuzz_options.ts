// The options of `tdxfuzz fuzz` and what they mean: the designs to run
// (`--profile sound` or a list), the shard, and the budget, size, parallelism
// and seed that the model and kernel targets share.

import { seedFrom } from '../fuzz/seed.js';
import type { Shard } from '../fuzz/stream.js';
import { SOUND_PROFILES, type ProfileName } from '../model/profiles.js';
import { parseProfile } from '../replay/select.js';
import { UsageError } from './errors.js';
import { parseCount, parseSeconds, parseSeed } from './options.js';

export interface FuzzCliOptions {
  profile?: string;
  bug?: string[];
  seed?: string;
  runs?: string;
  time?: string;
  maxCalls?: string;
  corpus?: string;
  json?: boolean;
  stats?: boolean;
  workers?: string;
  shard?: string;
  coverage?: boolean;
  target?: string;
  executor?: string;
  want?: string[];
}

/** `--profile sound` (or a comma list) runs several designs in turn. */
export function profilesOf(spec: string | undefined): ProfileName[] {
  if (spec === 'sound') return [...SOUND_PROFILES];
  if (spec === '') throw new UsageError('--profile expects a profile name, got an empty string');
  return (spec ?? 'upstream').split(',').map((p) => parseProfile(p.trim()));
}

export function parseShard(s: string | undefined): Shard | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--shard expects I/N (e.g. 2/8), got '${s}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${s} is out of range: I must be between 1 and N`);
  return { index, count };
}

/** The budget, size, parallelism and seed every fuzz run takes, model or kernel target alike. */
export function parseRunOptions(o: FuzzCliOptions) {
  const runs = parseCount('--runs', o.runs);
  const time = parseSeconds('--time', o.time);
  if (runs === 0) throw new UsageError('--runs 0 would run nothing: give at least 1');
  if (time === 0) throw new UsageError('--time 0 would run nothing: give a positive number of seconds');
  if (runs !== undefined && time !== undefined) throw new UsageError('give --runs or --time, not both');
  const maxCalls = parseCount('--max-calls', o.maxCalls) ?? 40;
  if (maxCalls < 1) throw new UsageError('--max-calls expects at least 1');
  const workers = parseCount('--workers', o.workers) ?? 1;
  if (workers < 1 || workers > 64) throw new UsageError(`--workers expects 1 to 64, got '${o.workers}'`);
  const shard = parseShard(o.shard);
  // Shards are slices of one stream only if they share the seed.
  if (shard && o.seed === undefined) throw new UsageError('--shard needs --seed: every shard must run the same seed to be a slice of one stream');
  const seed = seedFrom(parseSeed('--seed', o.seed));
  return { runs, time, maxCalls, workers, shard, seed };
}
