// `tdxfuzz replay FILE... --target kernel [--executor CMD] [--json]`: each
// program on /dev/kvm and on the model (the probed `kernel` profile) side by
// side. Exit 1 when a program diverges (or the executor hangs or dies), else
// 2 when one needs what this kernel lacks, else 0.

import { printCall, printResult } from '../program/printer.js';
import type { Program } from '../program/types.js';
import { answerText } from '../kernel/protocol.js';
import { probeAndApply } from '../kernel/probe.js';
import { runDifferential, type Differential } from '../kernel/differential.js';
import { loadProgram } from '../program/load.js';
import { parseBugs } from '../replay/select.js';
import { EXIT_FOUND, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
import { jsonLine } from './json.js';

export interface KernelReplayOptions {
  executor?: string;
  bug?: string[];
  json?: boolean;
}

export type Verdict = 'agree' | 'diverge' | 'needs';

export function verdictOf(d: Differential): Verdict {
  if (d.divergence >= 0 || d.fault) return 'diverge';
  return d.needs ? 'needs' : 'agree';
}

export function replayKernelCommand(files: string[], o: KernelReplayOptions, out: (s: string) => void): number {
  const programs: Array<{ file: string; program: Program }> = files.map((f) => ({ file: f, program: loadProgram(f) }));
  const bugs = parseBugs(o.bug);
  const target = { executor: o.executor };
  const { probe } = probeAndApply(target);
  if (probe.unavailable) {
    out(`tdxfuzz replay --target kernel: the kernel cannot be used here: ${probe.unavailable}`);
    return EXIT_USAGE;
  }
  const counts = { agree: 0, diverge: 0, needs: 0 };
  for (const { file, program } of programs) {
    const d = runDifferential(program, target, bugs);
    const v = verdictOf(d);
    counts[v]++;
    if (o.json) printJson(file, d, v, probe.release, out);
    else printText(file, d, v, probe.release, out);
  }
  if (!o.json && programs.length > 1) out(`${programs.length} programs: ${counts.agree} agree, ${counts.diverge} diverge, ${counts.needs} need what this kernel lacks`);
  return counts.diverge > 0 ? EXIT_FOUND : counts.needs > 0 ? EXIT_USAGE : EXIT_OK;
}

function printText(file: string, d: Differential, v: Verdict, release: string, out: (s: string) => void): void {
  out(`== ${file} (kernel ${release} vs model profile kernel)`);
  const rows = d.steps.map((s) => [String(s.index).padStart(3), printCall({ ...s.call, expect: undefined }), printResult(s.model), s.kernel ? answerText(s.kernel) : '-', s.index === d.divergence ? '   <- DIVERGES' : '']);
  const w = Math.min(90, Math.max(20, ...rows.map((r) => r[1].length)));
  if (rows.length) out(`${'#'.padStart(3)}  ${'call'.padEnd(w)}  ${'model'.padEnd(18)}  kernel`);
  for (const r of rows) out(`${r[0]}  ${r[1].padEnd(w)}  ${r[2].padEnd(18)}  ${r[3]}${r[4]}`);
  if (d.fault) out(`${d.fault.kind}: ${d.fault.message}`);
  if (v === 'agree') out(`AGREE ${file}: ${d.steps.length} calls`);
  else if (v === 'diverge') out(`DIVERGE ${file}: ${d.divergence >= 0 ? `first at call ${d.divergence}` : d.fault?.kind}`);
  else out(`NEEDS ${file}: ${d.needs}`);
}

function printJson(file: string, d: Differential, v: Verdict, release: string, out: (s: string) => void): void {
  for (const s of d.steps) {
    out(jsonLine({ index: s.index, call: printCall({ ...s.call, expect: undefined }), model: printResult(s.model), kernel: s.kernel ? answerText(s.kernel) : null, agree: s.agree }));
  }
  out(jsonLine({ summary: true, file, kernel: release, verdict: v, divergence: d.divergence, needs: d.needs ?? null, fault: d.fault ?? null }));
}

export function parseTarget(t: string | undefined): 'model' | 'kernel' {
  if (t === undefined || t === 'model') return 'model';
  if (t === 'kernel') return 'kernel';
  throw new UsageError(`--target expects model or kernel, got '${t}'`);
}
