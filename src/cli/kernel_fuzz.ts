// `tdxfuzz fuzz --target kernel`: the kernel fuzz loop (src/kernel/fuzz.ts)
// with the options every fuzz run takes. Exit 1 with a finding, 2 when the
// kernel cannot be used here, 0 otherwise.

import { kernelShrink, type KernelFuzzOptions, type KernelFuzzResult } from '../kernel/fuzz.js';
import { kernelSearchParallel } from '../kernel/pool.js';
import { probeAndApply } from '../kernel/probe.js';
import { printProgram } from '../program/printer.js';
import { EXIT_FOUND, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './errors.js';
import { jsonLine } from './json.js';
import { parseRunOptions, type FuzzCliOptions } from './fuzz_options.js';

export async function kernelFuzzCommand(o: FuzzCliOptions & { executor?: string }, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { runs, time, maxCalls, workers, shard, seed } = parseRunOptions(o);
  const say = o.json ? err : out;
  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.on('SIGINT', onSignal);
  say(`tdxfuzz fuzz --target kernel: seed ${seed}${shard ? `, shard ${shard.index}/${shard.count}` : ''}, ${workers} worker(s); one executor process per program`);
  const fo: KernelFuzzOptions = {
    target: { executor: o.executor }, seed, maxCalls, shard, corpus: o.corpus && o.corpus !== 'corpus/found' ? o.corpus : 'corpus/kernel',
    runs: runs ?? (time === undefined ? 100 : undefined), timeMs: time !== undefined ? time * 1000 : undefined, stop: () => interrupted,
  };
  const { probe } = probeAndApply(fo.target);
  let r: KernelFuzzResult = { runs: 0, calls: 0, skipped: 0, violations: 0, elapsedMs: 0, kernelMs: 0, release: probe.release, unavailable: probe.unavailable };
  if (!probe.unavailable) {
    const s = await kernelSearchParallel(fo, workers);
    r = { ...r, ...s, finding: s.foundAt !== undefined ? kernelShrink({ ...fo, shrinkMs: interrupted ? 3000 : 60_000 }, s.foundAt) : undefined };
  }
  process.off('SIGINT', onSignal);
  if (r.unavailable) {
    say(`the kernel cannot be used here: ${r.unavailable}`);
    if (o.json) out(jsonLine({ status: 'unavailable', reason: r.unavailable, kernel: r.release }));
    return EXIT_USAGE;
  }
  const pps = (r.runs / Math.max(0.001, r.elapsedMs / 1000)).toFixed(1);
  const summary = `${r.runs} programs (${r.skipped} skipped: need what the kernel lacks), ${r.calls} calls, ${pps} programs/s, ${Math.round((100 * r.kernelMs) / Math.max(1, r.elapsedMs * workers))}% of the time in the kernel, ${r.violations} model invariant violation(s), kernel ${r.release}, seed ${seed}`;
  if (r.finding) {
    const f = r.finding;
    say(`${f.kind} at call ${f.index}: ${f.message}`);
    say(`program ${f.programIndex} of seed ${seed}, shrunk from ${f.unshrunkCalls} to ${f.program.calls.length} calls; ${f.isNew ? 'saved to' : 'already in the corpus as'} ${f.file}`);
    say(summary);
    if (!o.json) out(printProgram(f.program).trimEnd());
    else out(jsonLine({ status: f.kind, seed, runs: r.runs, calls: r.calls, index: f.index, message: f.message, file: f.file, new: f.isNew, kernel: r.release }));
    return interrupted ? EXIT_INTERRUPTED : EXIT_FOUND;
  }
  say(`${interrupted ? 'interrupted' : 'no divergence'}: ${summary}`);
  if (o.json) out(jsonLine({ status: interrupted ? 'interrupted' : 'ok', seed, runs: r.runs, skipped: r.skipped, calls: r.calls, violations: r.violations, kernelMs: r.kernelMs, elapsedMs: r.elapsedMs, kernel: r.release }));
  return interrupted ? EXIT_INTERRUPTED : EXIT_OK;
}
