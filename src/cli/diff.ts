// `tdxfuzz diff --a PROFILE --b PROFILE`: the shortest program on which two
// designs answer differently, with both results side by side.

import { diffSearch } from '../fuzz/diff.js';
import { seedFrom } from '../fuzz/seed.js';
import { printCall, printResult } from '../program/printer.js';
import { canonicalNames } from '../program/printer.js';
import { parseSeconds, parseCount, parseSeed } from './options.js';
import { parseProfile } from '../replay/select.js';
import { checkOutputFile } from './outputs.js';
import { writeAtomic } from '../fuzz/save.js';
import { printProgram } from '../program/printer.js';
import { EXIT_FOUND, EXIT_OK, UsageError } from './errors.js';
import { jsonLine } from './json.js';

export interface DiffCliOptions {
  a?: string;
  b?: string;
  seed?: string;
  time?: string;
  runs?: string;
  maxCalls?: string;
  json?: boolean;
  out?: string;
}

export function diffCommand(o: DiffCliOptions, out: (s: string) => void, err: (s: string) => void): number {
  if (!o.a || !o.b) throw new UsageError('diff needs --a PROFILE and --b PROFILE');
  const a = parseProfile(o.a);
  const b = parseProfile(o.b);
  if (a === b) throw new UsageError('--a and --b name the same profile');
  const time = parseSeconds('--time', o.time);
  const runs = parseCount('--runs', o.runs);
  const seed = seedFrom(parseSeed('--seed', o.seed));
  if (runs === 0) throw new UsageError('--runs 0 would run nothing: give at least 1');
  if (time === 0) throw new UsageError('--time 0 would run nothing: give a positive number of seconds');
  if (o.out) checkOutputFile('--out', o.out);
  const say = o.json ? err : out;
  say(`tdxfuzz diff: ${a} against ${b}, seed ${seed}; replay with --seed ${seed}`);
  const r = diffSearch({ a, b, seed, maxCalls: parseCount('--max-calls', o.maxCalls) ?? 40, runs: runs ?? (time === undefined ? 2000 : undefined), timeMs: time !== undefined ? time * 1000 : undefined });
  if (!r.found) {
    say(`no difference in ${r.runs} programs`);
    if (o.json) out(jsonLine({ status: 'same', a, b, seed, runs: r.runs }));
    return EXIT_OK;
  }
  const f = r.found;
  const names = canonicalNames(f.program);
  const rn = (n: string) => names.get(n) ?? n;
  const texts = f.program.calls.map((c) => printCall({ ...c, expect: undefined }, rn));
  const width = Math.max(...texts.map((t) => t.length));
  const ra = f.resultsA.map(printResult);
  const rb = f.resultsB.map(printResult);
  const wa = Math.max(a.length, ...ra.map((x) => x.length));
  say(`program ${f.programIndex} of seed ${seed}, shrunk from ${f.unshrunkCalls} to ${f.program.calls.length} calls; first difference at call ${f.index}`);
  if (o.out) {
    // Pinned to design a; replaying it under b shows the difference as mismatches.
    const pinned = { headers: [['profile', a], ['bugs', 'none'], ['note', `differs from ${b} at call ${f.index} (tdxfuzz diff --a ${a} --b ${b} --seed ${seed})`]] as Array<[string, string]>, calls: f.program.calls.map((c, i) => ({ ...c, expect: f.resultsA[i] })) };
    writeAtomic(o.out, printProgram(pinned));
    say(`saved to ${o.out}; replay it with --profile ${b} to see the difference`);
  }
  if (!o.json) {
    out(`${''.padEnd(4)}${'call'.padEnd(width)}  ${a.padEnd(wa)}  ${b}`);
    texts.forEach((t, i) => out(`${i === f.index ? '>>> ' : '    '}${t.padEnd(width)}  ${(ra[i] ?? '-').padEnd(wa)}  ${rb[i] ?? '-'}`));
  } else {
    out(jsonLine({ status: 'different', a, b, seed, runs: r.runs, index: f.index, program: texts, [a]: ra, [b]: rb }));
  }
  return EXIT_FOUND;
}
