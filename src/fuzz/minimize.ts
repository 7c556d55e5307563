// The program minimiser, after fast-check's own shrinking: passes from coarse
// to fine (syzkaller's order) until no single call can be removed without
// losing the violation: drop the tail after the failing call, drop a creating
// call with every call that uses its handle, drop calls one by one, then
// simplify arguments to small canonical values.

import { CALLS, type Op } from '../program/calls.js';
import type { Call, Program, Value } from '../program/types.js';
import { driveSync, driveYielding } from './drive.js';

/** The failing step's index if the program still violates the target invariant, else -1. */
export type Oracle = (p: Program) => number;

const usesName = (c: Call, n: string) =>
  c.handles.includes(n) || Object.values(c.args).some((v) => v.kind !== 'int' && v.name === n);

/** Remove call i and, transitively, every call that uses a handle it (or a removed call) binds. */
export function withoutCall(p: Program, i: number): Program {
  const gone = new Set<number>([i]);
  const dead = new Set<string>();
  if (p.calls[i].bind) dead.add(p.calls[i].bind!);
  for (let j = i + 1; j < p.calls.length; j++) {
    const c = p.calls[j];
    if ([...dead].some((n) => usesName(c, n))) {
      gone.add(j);
      if (c.bind) dead.add(c.bind);
    }
  }
  return { headers: p.headers, calls: p.calls.filter((_, j) => !gone.has(j)) };
}

const CANONICAL = [0n, 1n, 0x1000n, 0x200000n];

function simplerValues(key: string, op: Op, v: Value): Value[] {
  if (v.kind === 'addr') return v.offset === 0n ? [] : [{ ...v, offset: 0n }];
  if (v.kind !== 'int') return [];
  const t = CALLS[op].keys[key]?.type;
  if (!t || t.t === 'enum' || t.t === 'gmemOrFd') return [];
  return CANONICAL.filter((c) => c < v.value && (t.t !== 'bool' || c <= 1n) && (t.t !== 'uint' || c < 1n << BigInt(t.bits)))
    .map((value): Value => ({ kind: 'int', value }));
}

/**
 * The arguments with one value simplified, keeping the program one the
 * parser accepts: a GUEST_ACCESS that no longer writes carries no byte
 * (program-format.md allows `byte` only with write=1).
 */
function withArg(op: Op, args: Call['args'], key: string, v: Value): Call['args'] {
  const out = { ...args, [key]: v };
  if (op === 'GUEST_ACCESS' && key === 'write' && !(v.kind === 'int' && v.value === 1n)) delete out.byte;
  return out;
}

export interface MinimizeStats {
  attempts: number;
  passes: number;
}

export interface MinimizeOptions {
  /** Polled between attempts: true stops at the best program so far (SIGINT). */
  stop?: () => boolean;
  /** Called with every smaller program that still fails, so an interrupt can save the best so far. */
  onBest?: (p: Program) => void;
}

export function minimize(p0: Program, oracle: Oracle, deadline = Infinity, mo: MinimizeOptions = {}): { program: Program; stats: MinimizeStats } {
  return driveSync(minimizeSteps(p0, oracle, deadline, mo));
}

/** The same minimiser, giving the event loop a turn every 50 ms so a signal is seen. */
export async function minimizeAsync(p0: Program, oracle: Oracle, deadline = Infinity, mo: MinimizeOptions = {}): Promise<{ program: Program; stats: MinimizeStats }> {
  return driveYielding(minimizeSteps(p0, oracle, deadline, mo));
}

/** The passes as a generator that yields after every attempt, so one loop serves both drivers. */
function* minimizeSteps(p0: Program, oracle: Oracle, deadline: number, mo: MinimizeOptions): Generator<void, { program: Program; stats: MinimizeStats }> {
  const stats: MinimizeStats = { attempts: 0, passes: 0 };
  const live = () => Date.now() < deadline && !mo.stop?.();
  const fails = (p: Program) => {
    stats.attempts++;
    return oracle(p) >= 0;
  };
  let p: Program = { headers: p0.headers, calls: p0.calls.map((c) => ({ ...c, expect: undefined, comment: undefined, leading: undefined })) };
  const take = (q: Program) => {
    p = q;
    mo.onBest?.(q);
  };
  // Stopped before starting: the program as it is.
  if (mo.stop?.()) return { program: p, stats };
  // Pass 0: nothing after the failing call matters.
  const at = oracle(p);
  if (at < 0) return { program: p, stats };
  take({ headers: p.headers, calls: p.calls.slice(0, at + 1) });
  for (let changed = true; changed && live();) {
    changed = false;
    stats.passes++;
    // Pass 1: creating calls with everything that depends on them, last first.
    for (let i = p.calls.length - 1; i >= 0 && live(); i--) {
      if (i >= p.calls.length || !p.calls[i].bind) continue;
      const q = withoutCall(p, i);
      if (fails(q)) { take(q); changed = true; }
      yield;
    }
    // Pass 2: every call, one by one.
    for (let i = p.calls.length - 1; i >= 0 && live(); i--) {
      if (i >= p.calls.length) continue;
      const q = withoutCall(p, i);
      if (fails(q)) { take(q); changed = true; }
      yield;
    }
    // Pass 3: arguments to small canonical values, and no [busy=N].
    for (let i = 0; i < p.calls.length && live(); i++) {
      const c = p.calls[i];
      if (c.busy !== undefined) {
        const q = replaceCall(p, i, { ...c, busy: undefined });
        if (fails(q)) { take(q); changed = true; }
        yield;
      }
      for (const [k, v] of Object.entries(p.calls[i].args)) {
        // A key an earlier simplification took away (a byte without a write) stays away.
        if (!(k in p.calls[i].args)) continue;
        for (const s of simplerValues(k, c.op, v)) {
          const q = replaceCall(p, i, { ...p.calls[i], args: withArg(c.op, p.calls[i].args, k, s) });
          const ok = fails(q);
          yield;
          if (ok) { take(q); changed = true; break; }
        }
      }
    }
  }
  return { program: p, stats };
}

function replaceCall(p: Program, i: number, c: Call): Program {
  return { headers: p.headers, calls: p.calls.map((x, j) => (j === i ? c : x)) };
}

/** Whether no single call (with its dependents) can be removed without losing the violation. */
export function isOneMinimal(p: Program, oracle: Oracle): boolean {
  for (let i = 0; i < p.calls.length; i++) if (oracle(withoutCall(p, i)) >= 0) return false;
  return true;
}
