// The kernel fuzz loop: programs of the `kernel` profile's stream, with every
// VM type the kernel lacks run as a default VM, each run on the model and on
// the kernel. A divergence (or a hung or dead executor) is a finding: shrunk
// with the program minimiser re-running both sides, then saved with both
// result columns pinned (the model's as `->` results, the kernel's as
// comments). Invariants run on the model side all along.

import { materialize } from '../fuzz/abstract.js';
import { minimize } from '../fuzz/minimize.js';
import { pinResults } from '../fuzz/check.js';
import { NO_SHARD, programAt, shardIndex, type Shard } from '../fuzz/stream.js';
import { saveFinding } from '../fuzz/save.js';
import { VM_TYPES } from '../program/calls.js';
import type { Program } from '../program/types.js';
import type { KernelGates } from '../model/profiles.js';
import { answerText } from './protocol.js';
import { runDifferential, type Differential } from './differential.js';
import { probeAndApply } from './probe.js';
import type { KernelTarget } from './run.js';

export interface KernelFuzzOptions {
  target: KernelTarget;
  seed: number;
  runs?: number;
  timeMs?: number;
  maxCalls: number;
  shard?: Shard;
  corpus: string;
  shrinkMs?: number;
  stop?: () => boolean;
  onProgress?: (p: { runs: number; calls: number; elapsedMs: number }) => void;
}

export interface KernelFinding {
  kind: 'divergence' | 'kernel-hang' | 'kernel-crash';
  index: number;
  message: string;
  program: Program;
  programIndex: number;
  file: string;
  isNew: boolean;
  unshrunkCalls: number;
}

/** A whole kernel fuzz run: the search's counts, the kernel it ran on, and the shrunk finding. */
export interface KernelFuzzResult extends Omit<KernelSearchResult, 'foundAt'> {
  release: string;
  finding?: KernelFinding;
  unavailable?: string;
}

/**
 * Run every VM type the kernel lacks as a default VM (saying so in a
 * header), and drop `[busy=N]`: a real TDX module cannot be told to be busy.
 */
export function retypeForKernel(p: Program, gates: KernelGates): Program {
  const have = new Set(gates.vmTypes.map((t) => VM_TYPES[t]));
  let changed = false;
  const calls = p.calls.map(({ busy: _busy, ...c }) => {
    const v = c.args.type;
    if (c.op !== 'KVM_CREATE_VM' || v?.kind !== 'int' || have.has(v.value as 0n)) return c;
    if (!Object.values(VM_TYPES).includes(v.value as 0n)) return c;
    changed = true;
    return { ...c, args: { ...c.args, type: { kind: 'int' as const, value: VM_TYPES.DEFAULT } } };
  });
  return { headers: changed ? [...p.headers, ['vm-type', 'default']] : p.headers, calls };
}

function findingOf(d: Differential): { kind: KernelFinding['kind']; index: number; message: string } | undefined {
  if (d.divergence >= 0) {
    const s = d.steps[d.divergence];
    return { kind: 'divergence', index: d.divergence, message: `${s.call.op}: model ${answerText({ kind: 'result', result: s.model })}, kernel ${s.kernel ? answerText(s.kernel) : '-'}` };
  }
  if (d.fault) return { kind: d.fault.kind, index: d.fault.index, message: d.fault.message };
  return undefined;
}

/** Pin the model's results as expectations and the kernel's answers as comments. */
export function pinBoth(p: Program, d: Differential): Program {
  const pinned = pinResults(p, d.model);
  return { ...pinned, calls: pinned.calls.map((c, i) => ({ ...c, comment: d.steps[i]?.kernel ? `kernel: ${answerText(d.steps[i].kernel!)}` : undefined })) };
}

export interface KernelSearchResult {
  runs: number;
  calls: number;
  /** Programs skipped because they need what the kernel lacks. */
  skipped: number;
  /** Model-side invariant violations seen (reported, not shrunk here). */
  violations: number;
  elapsedMs: number;
  kernelMs: number;
  /** Global index of the first program with a divergence or a hung or dead executor. */
  foundAt?: number;
}

/** The programs k = first, first + step, ... of the shard, stopping at the first finding or when `stop(i)` says so. */
export function kernelSearch(o: KernelFuzzOptions, first = 0, step = 1, stop?: (i: number) => boolean): KernelSearchResult {
  const { derived } = probeAndApply(o.target);
  const t0 = Date.now();
  const r: KernelSearchResult = { runs: 0, calls: 0, skipped: 0, violations: 0, elapsedMs: 0, kernelMs: 0 };
  const deadline = o.timeMs !== undefined ? t0 + o.timeMs : Infinity;
  const shard = o.shard ?? NO_SHARD;
  for (let k = first; (o.runs === undefined || k < o.runs) && Date.now() < deadline; k += step) {
    const i = shardIndex(shard, k);
    if (o.stop?.() || stop?.(i)) break;
    const p = retypeForKernel(materialize(programAt('kernel', o.maxCalls, o.seed, i)), derived.gates);
    const d = runDifferential(p, o.target);
    r.runs++;
    r.kernelMs += d.kernelMs;
    if (d.needs) { r.skipped++; continue; }
    r.calls += p.calls.length;
    r.violations += d.model.violations.length;
    o.onProgress?.({ runs: r.runs, calls: r.calls, elapsedMs: Date.now() - t0 });
    if (findingOf(d)) { r.foundAt = i; break; }
  }
  r.elapsedMs = Date.now() - t0;
  return r;
}

/** Shrink the finding of program `i` by re-running both sides, and save it with both columns pinned. */
export function kernelShrink(o: KernelFuzzOptions, i: number): KernelFinding | undefined {
  const { probe, derived } = probeAndApply(o.target);
  const p = retypeForKernel(materialize(programAt('kernel', o.maxCalls, o.seed, i)), derived.gates);
  const f = findingOf(runDifferential(p, o.target));
  if (!f) return undefined;
  const oracle = (q: Program) => {
    const e = runDifferential(q, o.target);
    const g = e.needs ? undefined : findingOf(e);
    return g && g.kind === f.kind && q.calls[g.index]?.op === p.calls[f.index].op ? g.index : -1;
  };
  const { program } = minimize(p, oracle, Date.now() + (o.shrinkMs ?? 60_000));
  const last = runDifferential(program, o.target);
  const lf = findingOf(last) ?? f;
  const pinned = pinBoth(program, last);
  const saved = saveFinding(o.corpus, pinned, { invariant: lf.kind, profile: 'kernel', bugs: [], seed: o.seed, path: `${i} kernel=${probe.release}`, message: lf.message });
  return { ...lf, program: pinned, programIndex: i, ...saved, unshrunkCalls: p.calls.length };
}

export function kernelFuzz(o: KernelFuzzOptions): KernelFuzzResult {
  const { probe } = probeAndApply(o.target);
  const base = { runs: 0, calls: 0, skipped: 0, violations: 0, elapsedMs: 0, kernelMs: 0, release: probe.release };
  if (probe.unavailable) return { ...base, unavailable: probe.unavailable };
  const r = kernelSearch(o);
  const finding = r.foundAt !== undefined ? kernelShrink(o, r.foundAt) : undefined;
  return { ...base, ...r, finding };
}
