// `tdxfuzz fuzz`: generate programs, check every invariant after every step,
// and on a violation shrink it, print it with every result pinned, and save
// it to the corpus before anything else can go wrong.

import { fuzz, type FuzzResult } from '../fuzz/engine.js';
import { seedFrom } from '../fuzz/seed.js';
import { saveFinding } from '../fuzz/save.js';
import { Stats } from '../fuzz/stats.js';
import { printProgram } from '../program/printer.js';
import { SOUND_PROFILES, type ProfileName } from '../model/profiles.js';
import type { BugName } from '../model/bugs.js';
import { parseBugs, parseCount, parseProfile, parseSeconds } from './options.js';
import { EXIT_FOUND, EXIT_INTERRUPTED, EXIT_OK, UsageError } from './errors.js';
import { jsonLine } from './json.js';
import { Progress } from './progress.js';

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
}

/** `--profile sound` (or a comma list) runs several designs in turn. */
function profilesOf(spec: string | undefined): ProfileName[] {
  if (spec === 'sound') return [...SOUND_PROFILES];
  return (spec ?? 'upstream').split(',').map((p) => parseProfile(p.trim()));
}

export async function fuzzCommand(o: FuzzCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const profiles = profilesOf(o.profile);
  const bugs: BugName[] = parseBugs(o.bug);
  const runs = parseCount('--runs', o.runs);
  const time = parseSeconds('--time', o.time);
  if (runs !== undefined && time !== undefined) throw new UsageError('give --runs or --time, not both');
  const maxCalls = parseCount('--max-calls', o.maxCalls) ?? 40;
  if (maxCalls < 1) throw new UsageError('--max-calls expects at least 1');
  const seed = seedFrom(o.seed);
  const corpus = o.corpus ?? 'corpus/found';
  const say = o.json ? err : out;
  say(`tdxfuzz fuzz: profile ${profiles.join(',')}, bugs ${bugs.join(',') || 'none'}, seed ${seed}${o.seed !== undefined && String(seed) !== o.seed ? ` (from '${o.seed}')` : ''}; replay with --seed ${seed}`);

  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stats = o.stats ? new Stats() : undefined;
  const progress = new Progress(process.stderr, time !== undefined ? time * 1000 : undefined);
  const totals = { runs: 0, calls: 0, ms: 0 };
  let found: { r: FuzzResult; profile: ProfileName; file?: string; isNew?: boolean } | undefined;
  try {
    for (const profile of profiles) {
      const share = (n: number | undefined) => (n === undefined ? undefined : n / profiles.length);
      const r = fuzz({
        profile, bugs, seed, maxCalls, stats,
        runs: runs !== undefined ? Math.ceil(share(runs)!) : time === undefined ? Math.ceil(1000 / profiles.length) : undefined,
        timeMs: time !== undefined ? share(time * 1000) : undefined,
        stop: () => interrupted,
        onProgress: (p) => progress.update({ runs: totals.runs + p.runs, calls: totals.calls + p.calls, elapsedMs: totals.ms + p.elapsedMs, violations: 0 }),
      });
      totals.runs += r.runs;
      totals.calls += r.calls;
      totals.ms += r.elapsedMs;
      if (r.finding) {
        // Save first: nothing after this point may lose the finding.
        const saved = saveFinding(corpus, r.finding.program, { invariant: r.finding.invariant, profile, bugs, seed, path: r.finding.path, message: r.finding.message });
        found = { r, profile, ...saved };
        break;
      }
      if (interrupted) break;
    }
  } finally {
    progress.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const cps = Math.round(totals.calls / Math.max(0.001, totals.ms / 1000));
  if (stats) for (const l of stats.lines()) say(l);
  if (found?.r.finding) {
    const f = found.r.finding;
    const text = printProgram({ headers: [['profile', found.profile], ['bugs', bugs.join(',') || 'none'], ['invariant', f.invariant]], calls: f.program.calls });
    say(`violation of ${f.invariant} at call ${f.index}: ${f.message}`);
    say(`shrunk from ${f.unshrunkCalls} to ${f.program.calls.length} calls in ${(f.shrinkMs / 1000).toFixed(1)}s; ${found.isNew ? 'saved to' : 'already in the corpus as'} ${found.file}`);
    if (!o.json) out(text.trimEnd());
    if (o.json) out(jsonLine({ status: 'violation', profile: found.profile, bugs, seed, runs: totals.runs, calls: totals.calls, callsPerSecond: cps, invariant: f.invariant, message: f.message, program: text, programCalls: f.program.calls.length, file: found.file, new: found.isNew }));
    return EXIT_FOUND;
  }
  const status = interrupted ? 'interrupted' : 'ok';
  say(`${status === 'ok' ? 'no violation' : 'interrupted'}: ${totals.runs} programs, ${totals.calls} calls, ${cps} calls/s, seed ${seed}`);
  if (o.json) out(jsonLine({ status, profile: profiles.join(','), bugs, seed, runs: totals.runs, calls: totals.calls, callsPerSecond: cps }));
  return interrupted ? EXIT_INTERRUPTED : EXIT_OK;
}
