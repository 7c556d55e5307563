// `tdxfuzz fuzz`: generate programs, check every invariant after every step,
// and on a violation shrink it, print it with every result pinned, then save
// it to the corpus; printing first means a failed write never loses it.
// SIGINT/SIGTERM stop the search and any shrink in progress (which keeps its
// best program so far); a second signal exits at once.

import { shrinkFindingAsync, type FuzzFinding, type FuzzOptions } from '../fuzz/engine.js';
import { searchParallel } from '../fuzz/pool.js';
import { saveFinding, writeAtomic, WriteFailure } from '../fuzz/save.js';
import { renderReport } from '../report/html.js';
import { Stats } from '../fuzz/stats.js';
import { Coverage } from '../fuzz/coverage.js';
import { printProgram } from '../program/printer.js';
import { checkOutputDir } from './outputs.js';
import type { ProfileName } from '../model/profiles.js';
import type { BugName } from '../model/bugs.js';
import { parseWant } from './options.js';
import { parseBugs, profilesForBugs } from '../replay/select.js';
import { EXIT_FOUND, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './errors.js';
import { jsonLine } from './json.js';
import { Progress } from './progress.js';
import { parseTarget } from './kernel_replay.js';
import { kernelFuzzCommand } from './kernel_fuzz.js';
import { parseRunOptions, profilesOf, type FuzzCliOptions } from './fuzz_options.js';
import { programNames } from '../report/names.js';

export async function fuzzCommand(o: FuzzCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  if (parseTarget(o.target) === 'kernel') return await kernelFuzzCommand(o, out, err);
  const bugs: BugName[] = parseBugs(o.bug);
  const { profiles, picked } = profilesForBugs(o.profile === undefined ? undefined : profilesOf(o.profile), bugs);
  const want = parseWant(o.want);
  const { runs, time, maxCalls, workers, shard, seed } = parseRunOptions(o);
  const corpus = o.corpus ?? 'corpus/found';
  checkOutputDir('--corpus', corpus);
  const say = o.json ? err : out;
  let interrupted = false;
  const onSignal = () => {
    // The second signal means "now": nothing more is saved.
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (picked) say(`tdxfuzz fuzz: ${picked} (give --profile to choose another)`);
  if (want) say(`tdxfuzz fuzz: only violations of ${want.join(', ')} count; others are passed over`);
  say(`tdxfuzz fuzz: profile ${profiles.join(',')}, bugs ${bugs.join(',') || 'none'}, seed ${seed}${o.seed !== undefined && String(seed) !== o.seed ? ` (from '${o.seed}')` : ''}${shard ? `, shard ${shard.index}/${shard.count}` : ''}, ${workers} worker(s); replay with --seed ${seed}`);

  const stats = o.stats ? new Stats() : undefined;
  const coverage = o.coverage ? new Coverage() : undefined;
  const progress = new Progress(process.stderr, time !== undefined ? time * 1000 : undefined);
  const totals = { runs: 0, calls: 0, ms: 0 };
  let found: { f: FuzzFinding; profile: ProfileName } | undefined;
  try {
    for (const profile of profiles) {
      const share = (n: number) => n / profiles.length;
      const opts: FuzzOptions = {
        profile, bugs, want, seed, maxCalls, stats, coverage, shard,
        runs: runs !== undefined ? Math.ceil(share(runs)) : time === undefined ? Math.ceil(share(1000)) : undefined,
        timeMs: time !== undefined ? share(time * 1000) : undefined,
        stop: () => interrupted,
        onProgress: (p) => progress.update({ runs: totals.runs + p.runs, calls: totals.calls + p.calls, elapsedMs: totals.ms + p.elapsedMs, violations: 0 }),
      };
      const r = await searchParallel(opts, workers);
      totals.runs += r.runs;
      totals.calls += r.calls;
      totals.ms += r.elapsedMs;
      if (r.foundAt !== undefined) {
        // Shrink until done, out of budget or interrupted; an interrupt keeps the best program so far.
        progress.done();
        err(`shrinking program ${r.foundAt} of seed ${seed}...`);
        const f = await shrinkFindingAsync({ ...opts, shrinkMs: 20_000 }, r.foundAt, { stop: () => interrupted });
        // Say vm0 and g0, as the program does, not the model's own numbers.
        found = { f: { ...f, message: programNames(f.program, { profile, bugs })(f.message) }, profile };
        break;
      }
      if (interrupted) break;
    }
  } finally {
    progress.done();
  }
  try {
    return finish();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  function finish(): number {
    const cps = Math.round(totals.calls / Math.max(0.001, totals.ms / 1000));
    if (stats) for (const l of stats.lines()) say(l);
    if (coverage) for (const l of coverage.lines()) say(l);
    if (found) {
      const { f, profile } = found;
      const text = printProgram({ headers: [['profile', profile], ['bugs', bugs.join(',') || 'none'], ['invariant', f.invariant]], calls: f.program.calls });
      say(`violation of ${f.invariant} at call ${f.index}: ${f.message}`);
      say(`program ${f.programIndex} of seed ${seed}, shrunk from ${f.unshrunkCalls} to ${f.program.calls.length} calls in ${(f.shrinkMs / 1000).toFixed(1)}s${f.shrunk ? '' : interrupted ? ' (shrinking interrupted: best so far)' : ' (shrinking cut short)'}`);
      // The program goes to stdout before any write can fail.
      if (!o.json) out(text.trimEnd());
      let saved;
      try {
        saved = saveFinding(corpus, f.program, { invariant: f.invariant, profile, bugs, seed, path: String(f.programIndex), message: f.message });
      } catch (e) {
        if (!(e instanceof WriteFailure)) throw e;
        if (o.json) out(jsonLine({ status: 'violation', profile, bugs, seed, runs: totals.runs, calls: totals.calls, callsPerSecond: cps, invariant: f.invariant, message: f.message, program: text, programCalls: f.program.calls.length, file: null, new: false }));
        err(`tdxfuzz: the finding above was not saved: ${e.message}`);
        return EXIT_USAGE;
      }
      say(`${saved.isNew ? 'saved to' : 'already in the corpus as'} ${saved.file}`);
      // The report comes after the program is safely on disk; a program already there has its own.
      // An interrupted user wants out: the report is one command away.
      if (saved.isNew && interrupted) err(`report not written (interrupted): tdxfuzz report ${saved.file}`);
      else if (saved.isNew) try {
        writeAtomic(saved.file.replace(/\.prog$/, '.html'), renderReport(saved.file, { headers: [], calls: f.program.calls }, { profile, bugs }));
      } catch (e) {
        err(`report not written: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (o.json) out(jsonLine({ status: 'violation', profile, bugs, seed, runs: totals.runs, calls: totals.calls, callsPerSecond: cps, invariant: f.invariant, message: f.message, program: text, programCalls: f.program.calls.length, file: saved.file, new: saved.isNew }));
      return interrupted ? EXIT_INTERRUPTED : EXIT_FOUND;
    }
    const status = interrupted ? 'interrupted' : 'ok';
    say(`${status === 'ok' ? 'no violation' : 'interrupted'}: ${totals.runs} programs, ${totals.calls} calls, ${cps} calls/s, seed ${seed}`);
    if (o.json) out(jsonLine({ status, profile: profiles.join(','), bugs, seed, runs: totals.runs, calls: totals.calls, callsPerSecond: cps }));
    return interrupted ? EXIT_INTERRUPTED : EXIT_OK;
  }
}
