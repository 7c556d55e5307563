// Runs one program on the kernel: one executor process per program, so every
// VM, fd and mapping of the program is gone when the next one starts. A
// process that outlives its budget is killed (kernel-hang); one that dies
// before answering every call is a crash (kernel-crash). Both are findings.

import { spawnSync } from 'node:child_process';
import type { Program } from '../program/types.js';
import { buildExecutor } from './build.js';
import { decodeAnswer, encodeCall, type KernelAnswer } from './protocol.js';

export interface KernelTarget {
  /** A shell command replacing the local executor (e.g. `ssh tdx-host /opt/tdxfuzz-executor`). */
  executor?: string;
  /** Budget per call; the process gets calls x this plus a start-up second. */
  callTimeoutMs?: number;
  /** Answer protocol lines in this process instead (the model stand-in in tests). */
  inProcess?: (lines: string[]) => string[];
}

export type KernelFault = { kind: 'kernel-hang' | 'kernel-crash'; index: number; message: string };

export interface KernelRun {
  answers: KernelAnswer[];
  /** Set when the executor hung or died; answers stop at `index`. */
  fault?: KernelFault;
  ms: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5000;

function command(t: KernelTarget): { file: string; args: string[] } {
  if (t.executor) return { file: '/bin/sh', args: ['-c', t.executor] };
  return { file: buildExecutor(), args: [] };
}

/** Send raw protocol lines; the answer lines after the HELLO line. */
export function runLines(lines: string[], t: KernelTarget, budgetMs: number): { out: string[]; status: number | null; signal: string | null; timedOut: boolean; error?: string } {
  if (t.inProcess) return { out: t.inProcess(lines), status: 0, signal: null, timedOut: false };
  const { file, args } = command(t);
  const r = spawnSync(file, args, {
    input: `${lines.join('\n')}\nQUIT\n`, encoding: 'utf8', timeout: budgetMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
  });
  const all = (r.stdout ?? '').split('\n').filter((l) => l.length > 0);
  const hello = all.findIndex((l) => l.startsWith('HELLO '));
  const out = hello >= 0 ? all.slice(hello + 1) : all;
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const error = r.error && !timedOut ? r.error.message : hello < 0 ? `no HELLO from the executor${r.stderr ? `: ${r.stderr.trim().split('\n')[0]}` : ''}` : undefined;
  return { out, status: r.status, signal: r.signal, timedOut, error };
}

export function runKernelProgram(p: Program, t: KernelTarget = {}): KernelRun {
  const t0 = Date.now();
  const per = t.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const r = runLines(p.calls.map(encodeCall), t, 1000 + per * Math.max(1, p.calls.length));
  const answers = r.out.slice(0, p.calls.length).map(decodeAnswer);
  let fault: KernelFault | undefined;
  if (answers.length < p.calls.length) {
    const index = answers.length;
    const op = p.calls[index].op;
    if (r.timedOut) fault = { kind: 'kernel-hang', index, message: `the executor gave no answer to call ${index} (${op}) within its budget; killed` };
    else fault = { kind: 'kernel-crash', index, message: `the executor died at call ${index} (${op}): ${r.signal ? `signal ${r.signal}` : r.error ?? `exit status ${r.status}`}` };
  }
  return { answers, fault, ms: Date.now() - t0 };
}
