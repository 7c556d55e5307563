// `npm run bench`: speed as ratios measured in one run, each figure the
// median of several repetitions. Harness against bare model on the same
// program stream; a 1 TiB guest against a 16 MiB one; every seeded bug's
// time to be found and shrunk.

import fc from 'fast-check';
import { abstractProgramArb } from '../src/fuzz/program.js';
import { materialize, type ACall } from '../src/fuzz/abstract.js';
import { firstFinding } from '../src/fuzz/check.js';
import { fuzz } from '../src/fuzz/engine.js';
import { runProgram, SWEEP_EVERY, type RunOptions } from '../src/fuzz/runner.js';
import { parseProgram } from '../src/program/parser.js';
import { BUGS } from '../src/model/bugs.js';
import { PROFILES, type ProfileName } from '../src/model/profiles.js';
import type { Program } from '../src/program/types.js';
import { search } from '../src/fuzz/engine.js';
import { searchParallel } from '../src/fuzz/pool.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { kernelBenchRows } from './bench_kernel.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REPS = Number(process.env.BENCH_REPS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const row = (cells: string[], widths: number[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');

function timed<T>(f: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

/**
 * Calls per second of each pass (one pass over the stream, returning the
 * calls it ran), the passes taken in turn until `minMs` have gone by in all.
 * Taking them in turn puts every variant under the same machine load: read
 * one after another, a load that came and went moved one variant's figure
 * and not the others', and a cost computed as the difference of two
 * figures came out negative now and then.
 */
function rates(passes: Array<() => number>, minMs: number): number[] {
  const calls = passes.map(() => 0);
  const ms = passes.map(() => 0);
  const t0 = process.hrtime.bigint();
  do {
    passes.forEach((pass, i) => {
      const t = process.hrtime.bigint();
      calls[i] += pass();
      ms[i] += Number(process.hrtime.bigint() - t) / 1e6;
    });
  } while (Number(process.hrtime.bigint() - t0) / 1e6 < minMs);
  return calls.map((c, i) => c / (ms[i] / 1000));
}

function streamBench(profile: ProfileName, n: number) {
  const arb = abstractProgramArb({ settings: PROFILES[profile].settings, maxCalls: 40 });
  const abstract = fc.sample(arb, { seed: 7, numRuns: n }) as ACall[][];
  const programs = abstract.map((a) => materialize(a));
  const calls = programs.reduce((s, p) => s + p.calls.length, 0);
  /** Per repetition: calls/s of the bare model and of the harness, and each part's time per call in bare-model calls. */
  const reps: Array<Record<'bare' | 'harness' | 'noImage' | 'noSweeps' | 'gen' | 'total' | 'image' | 'sweeps' | 'rest', number>> = [];
  const barePass = () => {
    for (const p of programs) runProgram(p, { profile, bugs: [], noInvariants: true });
    return calls;
  };
  /** The harness loop, or with some checks left out: what those checks cost, on the same stream. */
  const harnessPass = (costOf?: RunOptions['costOf']) => () => {
    let steps = 0;
    fc.check(fc.property(arb, (a: ACall[]) => {
      steps += costOf
        ? runProgram(materialize(a), { profile, bugs: [], stopOnViolation: true, costOf }).steps.length
        : firstFinding(materialize(a), { profile, bugs: [] }).report.steps.length;
      return true;
    }), { seed: 7, numRuns: n });
    return steps;
  };
  const genPass = () => {
    fc.check(fc.property(arb, (a: ACall[]) => { materialize(a); return true; }), { seed: 7, numRuns: n });
    return calls;
  };
  // One untimed pass of each, so every reading sees optimised code.
  barePass();
  harnessPass()();
  genPass();
  for (let r = 0; r < REPS; r++) {
    const [bare, genRate, harness, noImage, noSweeps] = rates([barePass, genPass, harnessPass(), harnessPass({ noStateImage: true }), harnessPass({ noSweeps: true })], 6000);
    // Each part from the readings of one repetition, in bare-model calls:
    // generation as its time per call over the bare model's, a check as the
    // harness's time per call less the time without it.
    const total = bare / harness;
    const gen = bare / genRate;
    const image = total - bare / noImage;
    const sweeps = total - bare / noSweeps;
    reps.push({ bare, harness, noImage, noSweeps, gen, total, image, sweeps, rest: total - 1 - gen - image - sweeps });
  }
  // Then the median of each over the repetitions.
  const med = (k: keyof (typeof reps)[number]) => median(reps.map((x) => x[k]));
  return {
    bare: med('bare'), harness: med('harness'), noImage: med('noImage'), noSweeps: med('noSweeps'),
    gen: med('gen'), total: med('total'), image: med('image'), sweeps: med('sweeps'), rest: med('rest'),
  };
}

/** A scripted TD workload whose every range call spans the whole guest. */
function guestProgram(bytes: bigint): Program {
  const size = `0x${bytes.toString(16)}`;
  const lines = [
    'vm0 = KVM_CREATE_VM(type=TDX)',
    `g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=${size}, flags=0)`,
    `KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=${size}, uaddr=0x0, gmem=g0, offset=0x0)`,
    'KVM_TDX_INIT_VM(vm0)', 'cpu0 = KVM_CREATE_VCPU(vm0, id=0)', 'KVM_TDX_INIT_VCPU(cpu0)',
    `KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=${size}, attributes=PRIVATE, flags=0)`,
    'src0 = MMAP_ANON(size=0x4000)',
    'KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=4, flags=MEASURE)',
    'KVM_TDX_FINALIZE_VM(vm0)',
  ];
  for (let i = 0; i < 20; i++) {
    const gpa = `0x${(0x10000 + i * 0x1000).toString(16)}`;
    lines.push(
      `KVM_PRE_FAULT_MEMORY(cpu0, gpa=${gpa}, size=0x1000, flags=0)`,
      `GUEST_ACCEPT(cpu0, gpa=${gpa}, level=4K)`,
      `GUEST_ACCESS(cpu0, gpa=${gpa}, private=1, write=1, byte=0x5a)`,
      `KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=${size}, attributes=0, flags=0)`,
      `KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=${size}, attributes=PRIVATE, flags=0)`,
      `FALLOCATE(g0, mode=KEEP_SIZE, offset=0x0, len=${size})`,
      `FALLOCATE(g0, mode=KEEP_SIZE|PUNCH_HOLE, offset=0x0, len=${size})`,
    );
  }
  const r = parseProgram(lines.join('\n'));
  if (!r.ok) throw new Error(r.error.message);
  return r.program;
}

function guestBench(bytes: bigint): number {
  const p = guestProgram(bytes);
  const rates: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const [rep, t] = timed(() => { let n = 0; for (let i = 0; i < 20; i++) n += runProgram(p, { profile: 'upstream', bugs: [] }).steps.length; return n; });
    rates.push(rep / (t / 1000));
  }
  return median(rates);
}

async function main(): Promise<void> {
  console.log(`tdxfuzz bench: medians of ${REPS} repetitions (BENCH_REPS to change)\n`);
  const s = streamBench('upstream', 300);
  const ratio = s.harness / s.bare;
  const widths = [44, 14, 10, 8];
  console.log(row(['figure', 'value', 'target', 'ok'], widths));
  console.log(row(['bare model, calls/s (300 programs, seed 7)', fmt(s.bare), '', ''], widths));
  console.log(row(['whole harness, calls/s (same stream)', fmt(s.harness), '', ''], widths));
  console.log(row(['harness / bare model', ratio.toFixed(2), '>= 0.50', ratio >= 0.5 ? 'yes' : 'NO'], widths));
  console.log(row(['full sweep of every invariant, every N steps', `N = ${SWEEP_EVERY}`, '', ''], widths));
  console.log(row(['  (and after the last step of every program)', '', '', ''], widths));
  console.log(row(['  harness without the whole-state image', `${(s.noImage / s.bare).toFixed(2)} of bare`, '', ''], widths));
  console.log(row(['  harness without the full sweeps', `${(s.noSweeps / s.bare).toFixed(2)} of bare`, '', ''], widths));
  // Where a harness call's time goes, in units of a bare-model call's time:
  // each part is the difference of two readings above, so they add up to
  // bare / harness. A ratio R leaves (1 / R) - 1 for everything but the model.
  const unit = (x: number) => `${x.toFixed(2)} x bare`;
  console.log(row(['where a harness call\'s time goes:', '', '', ''], widths));
  console.log(row(['  the model', unit(1), '', ''], widths));
  console.log(row(['  generating the programs', unit(s.gen), '', ''], widths));
  console.log(row(['  whole-state images (errno-contract)', unit(s.image), '', ''], widths));
  console.log(row(['  full sweeps', unit(s.sweeps), '', ''], widths));
  console.log(row(['  per-step checks, oracle, runner', unit(s.rest), '', ''], widths));
  console.log(row(['  all (bare / harness)', unit(s.total), '', ''], widths));
  console.log(row(['  what ratio 0.45 leaves beside the model', unit(1 / 0.45 - 1), '', ''], widths));
  // The best ratio a harness could reach that generated the same programs and
  // took the same images, with every other check free.
  console.log(row(['  ratio with generation and images alone', (1 / (1 + s.gen + s.image)).toFixed(2), '', ''], widths));
  for (const [k, v] of kernelBenchRows()) console.log(row([k, v], widths));
  const small = guestBench(16n << 20n);
  const large = guestBench(1n << 40n);
  console.log(row(['16 MiB guest, calls/s', fmt(small), '', ''], widths));
  console.log(row(['1 TiB guest, calls/s', fmt(large), '', ''], widths));
  console.log(row(['1 TiB / 16 MiB', (large / small).toFixed(2), '>= 0.80', large / small >= 0.8 ? 'yes' : 'NO'], widths));
  const perWorkers = async (n: number) => {
    const rates: number[] = [];
    for (let r = 0; r < Math.min(REPS, 2); r++) {
      const res = await searchParallel({ profile: 'upstream', bugs: [], seed: 11 + r, maxCalls: 40, timeMs: 15000 }, n, true);
      rates.push(res.calls / (res.elapsedMs / 1000));
    }
    return median(rates);
  };
  const w1 = await perWorkers(1);
  const w2 = await perWorkers(2);
  console.log(row(['--workers 1, calls/s (15 s, in a thread)', fmt(w1), '', ''], widths));
  console.log(row(['--workers 2, calls/s (15 s)', fmt(w2), '', ''], widths));
  console.log(row(['workers 2 / workers 1', (w2 / w1).toFixed(2), '>= 1.80', w2 / w1 >= 1.8 ? 'yes' : 'NO'], widths));
  // The machine's own ceiling: two independent processes on two shards.
  const proc = (args: string[]) => new Promise<number>((resolve) => {
    const c = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'tdxfuzz.mjs'), 'fuzz', '--json', '--corpus', join(tmpdir(), 'tdxfuzz-bench'), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('exit', () => resolve(JSON.parse(out.trim().split('\n').at(-1)!).callsPerSecond));
  });
  const solo = await proc(['--time', '15', '--seed', '11']);
  const pair = (await Promise.all([proc(['--time', '15', '--seed', '11', '--shard', '1/2']), proc(['--time', '15', '--seed', '11', '--shard', '2/2'])])).reduce((a, b) => a + b, 0);
  console.log(row(['two processes / one (this machine\'s ceiling)', (pair / solo).toFixed(2), '', ''], widths));
  const heapAfter = (runs: number) => {
    search({ profile: 'upstream', bugs: [], seed: 5, maxCalls: 40, runs });
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  const h1 = heapAfter(1000);
  const h10 = heapAfter(10000);
  console.log(row(['heap after 1,000 runs, MiB', h1.toFixed(1), '', ''], widths));
  console.log(row(['heap after 10,000 runs, MiB', h10.toFixed(1), '', ''], widths));
  console.log(row(['heap growth 1k -> 10k runs', (h10 / h1).toFixed(2), '<= 1.20', h10 / h1 <= 1.2 ? 'yes' : 'NO'], widths));
  console.log('\nseeded bugs (seeds 1..' + REPS + '):');
  const bw = [28, 22, 10, 10, 12, 10, 4];
  console.log(row(['bug', 'invariant', 'found ms', 'runs', 'shrunk calls', 'shrink ms', 'ok'], bw));
  const times: number[] = [];
  for (const b of BUGS) {
    const profile: ProfileName = (b as { profile?: ProfileName }).profile ?? 'upstream';
    const found: number[] = [];
    const runs: number[] = [];
    const callsN: number[] = [];
    const shrink: number[] = [];
    for (let seed = 1; seed <= REPS; seed++) {
      const [r, t] = timed(() => fuzz({ profile, bugs: [b.name], want: b.invariant, seed, runs: 20000, maxCalls: 40 }));
      const sh = r.finding?.shrinkMs ?? 0;
      found.push(r.finding ? t - sh : Infinity);
      runs.push(r.runs);
      callsN.push(r.finding?.program.calls.length ?? NaN);
      shrink.push(sh);
    }
    const m = median(found);
    times.push(m);
    console.log(row([b.name, b.invariant, Number.isFinite(m) ? fmt(m) : 'NOT FOUND', fmt(median(runs)), String(median(callsN)), fmt(median(shrink)), m < 5000 ? 'yes' : 'NO'], bw));
  }
  console.log(`\nevery bug found in under 5 s at the median: ${times.every((t) => t < 5000) ? 'yes' : 'NO'}`);
}

await main();
