// The kernel target's speed for `npm run bench`: programs/s and calls/s on
// /dev/kvm (through the executor, one process per program) beside the
// model's calls/s on the same programs, and the share of time in the kernel.

import { kernelFuzz } from '../src/kernel/fuzz.js';
import { probeAndApply } from '../src/kernel/probe.js';
import { materialize } from '../src/fuzz/abstract.js';
import { programAt } from '../src/fuzz/stream.js';
import { runProgram } from '../src/fuzz/runner.js';
import { retypeForKernel } from '../src/kernel/fuzz.js';
import type { KernelTarget } from '../src/kernel/run.js';

export function kernelBenchRows(seconds = 10, target: KernelTarget = {}): Array<[string, string]> {
  const { probe, derived } = probeAndApply(target);
  if (probe.unavailable) return [['kernel target', `unavailable: ${probe.unavailable}`]];
  const r = kernelFuzz({ target, seed: 7, timeMs: seconds * 1000, maxCalls: 40, corpus: 'corpus/kernel', shrinkMs: 1 });
  const s = r.elapsedMs / 1000;
  const t0 = Date.now();
  let calls = 0;
  for (let i = 0; i < r.runs; i++) {
    const p = retypeForKernel(materialize(programAt('kernel', 40, 7, i)), derived.gates);
    calls += runProgram(p, { profile: 'kernel', bugs: [], noInvariants: true }).steps.length;
  }
  const ms = Math.max(1, Date.now() - t0);
  return [
    [`kernel programs/s (${seconds} s, ${r.release})`, (r.runs / s).toFixed(1)],
    ['kernel calls/s', Math.round(r.calls / s).toLocaleString('en-US')],
    ['model calls/s, same programs', Math.round(calls / (ms / 1000)).toLocaleString('en-US')],
    ['share of time in the kernel', `${Math.round((100 * r.kernelMs) / Math.max(1, r.elapsedMs))}%`],
    ['divergence found while benchmarking', r.finding ? `${r.finding.kind} (${r.finding.file})` : 'none'],
  ];
}
