// Differential execution: one program on the model (the `kernel` profile,
// invariants on) and on the kernel through the executor, compared call by
// call. The first call whose answers differ is the divergence.

import type { BugName } from '../model/bugs.js';
import { sameResult, type Ret } from '../model/result.js';
import { runProgram, type RunReport } from '../fuzz/runner.js';
import { VM_TYPES } from '../program/calls.js';
import { header, type Call, type Program } from '../program/types.js';
import type { KernelAnswer } from './protocol.js';
import { runKernelProgram, type KernelFault, type KernelTarget } from './run.js';
import { probeAndApply, type DerivedSettings } from './probe.js';

export interface DiffStep {
  index: number;
  call: Call;
  model: Ret;
  kernel?: KernelAnswer;
  agree: boolean;
}

export interface Differential {
  steps: DiffStep[];
  /** Index of the first call the two sides answer differently, or -1. */
  divergence: number;
  /** What the program needs that this kernel or executor lacks (exit 2), if anything. */
  needs?: string;
  fault?: KernelFault;
  model: RunReport;
  kernelMs: number;
}

const TYPE_NAME = new Map<bigint, 'DEFAULT' | 'SW_PROTECTED' | 'TDX'>(Object.entries(VM_TYPES).map(([k, v]) => [v, k as 'DEFAULT']));

/**
 * `# vm-type: default` runs every VM of the program as a default VM. `[busy=N]`
 * is dropped on both sides: a real TDX module cannot be told to be busy.
 */
export function applyVmTypeHeader(p0: Program): Program {
  const p = { ...p0, calls: p0.calls.map(({ busy: _busy, ...c }) => c) };
  const want = header(p, 'vm-type')?.trim().toUpperCase().replace('-', '_');
  if (!want) return p;
  const value = VM_TYPES[want as keyof typeof VM_TYPES];
  if (value === undefined) return p;
  return { ...p, calls: p.calls.map((c) => (c.op === 'KVM_CREATE_VM' ? { ...c, args: { ...c.args, type: { kind: 'int', value } } } : c)) };
}

/** What the program asks for that the probed kernel lacks, before anything runs. */
export function missingCapability(p: Program, d: DerivedSettings): string | undefined {
  for (const c of p.calls) {
    if (c.op !== 'KVM_CREATE_VM') continue;
    const v = c.args.type;
    const name = v?.kind === 'int' ? TYPE_NAME.get(v.value) : undefined;
    if (name && !d.gates.vmTypes.includes(name)) {
      return `line ${c.line ?? '?'}: VM type ${name}, which this kernel lacks (KVM_CREATE_VM answers EINVAL; add '# vm-type: default' to run it as a default VM)`;
    }
  }
  const guest = p.calls.find((c) => c.op === 'GUEST_ACCESS' || c.op === 'GUEST_ACCEPT');
  if (d.guestAccess !== true && guest) return `${guest.op}: ${d.guestAccess}`;
  return undefined;
}

function agrees(model: Ret, k: KernelAnswer | undefined): boolean {
  return k !== undefined && k.kind === 'result' && sameResult(model, k.result);
}

export function runDifferential(p0: Program, t: KernelTarget, bugs: readonly BugName[] = [], checkNeeds = true): Differential {
  const { probe, derived } = probeAndApply(t);
  const p = applyVmTypeHeader(p0);
  const model = runProgram(p, { profile: 'kernel', bugs });
  const empty = { steps: [], divergence: -1, model, kernelMs: 0 };
  if (probe.unavailable) return { ...empty, needs: probe.unavailable };
  const needs = checkNeeds ? missingCapability(p, derived) : undefined;
  if (needs) return { ...empty, needs };
  const k = runKernelProgram(p, t);
  const steps: DiffStep[] = model.steps.map((s, i) => ({ index: i, call: s.call, model: s.result, kernel: k.answers[i], agree: agrees(s.result, k.answers[i]) }));
  const unsupported = k.answers.findIndex((a) => a.kind === 'unsupported');
  const divergence = steps.findIndex((s) => !s.agree && s.kernel !== undefined && s.kernel.kind !== 'unsupported');
  if (unsupported >= 0 && (divergence < 0 || unsupported < divergence)) {
    const a = k.answers[unsupported] as { reason: string };
    return { steps, divergence: -1, needs: `call ${unsupported} (${p.calls[unsupported].op}): ${a.reason}`, fault: k.fault, model, kernelMs: k.ms };
  }
  return { steps, divergence, fault: k.fault, model, kernelMs: k.ms };
}

