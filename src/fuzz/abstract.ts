// Abstract programs: what the generators produce and fast-check shrinks.
// Handles are not names but picks among the handles of the right kind that
// exist when the call runs (the position trick of fast-check's model-based
// testing), so removing a call while shrinking never leaves a dangling name:
// the pick simply lands on another handle, or the call drops out.

import { CALLS, type ArgType, type Op } from '../program/calls.js';
import type { Call, HandleKind, Program, Value } from '../program/types.js';

export type AVal =
  | { k: 'int'; v: bigint }
  /** A mapping handle plus an offset (an `addr`). */
  | { k: 'map'; pick: number; off: bigint }
  /** A guest_memfd handle for a `gmemOrFd` key. */
  | { k: 'gmem'; pick: number };

export interface ACall {
  op: Op;
  /** One pick per positional handle. */
  picks: number[];
  args: Record<string, AVal>;
  busy?: number;
}

export const aint = (v: bigint | number): AVal => ({ k: 'int', v: BigInt(v) });

/** An integer argument as the C interface holds it: unsigned ones (a uint of its width, flags and addresses are u64) wrap; an fd stays signed. */
function wrapped(t: ArgType, v: bigint): bigint {
  if (t.t === 'uint') return BigInt.asUintN(t.bits, v);
  return t.t === 'flags' || t.t === 'addr' ? BigInt.asUintN(64, v) : v;
}

/**
 * Turn an abstract program into a concrete one with canonical names. A call
 * whose handle kind has no live name yet is dropped.
 */
export function materialize(calls: readonly ACall[], headers: Array<[string, string]> = []): Program {
  const names = new Map<HandleKind, string[]>();
  const counters = new Map<string, number>();
  const out: Call[] = [];
  // Every program is materialised once per run, so a handle of one kind (the
  // common case) is picked without building a list of candidates.
  const pickName = (kinds: HandleKind | HandleKind[], pick: number): string | undefined => {
    const all = Array.isArray(kinds) ? kinds.flatMap((k) => names.get(k) ?? []) : names.get(kinds);
    // A negative pick counts from the newest handle (-1 is the last one made).
    return all === undefined || all.length === 0 ? undefined : all[((pick % all.length) + all.length) % all.length];
  };
  for (const a of calls) {
    const spec = CALLS[a.op];
    if (!spec) continue;
    const handles: string[] = [];
    let ok = true;
    for (let i = 0; i < spec.handles.length && ok; i++) {
      const n = pickName(spec.handles[i], a.picks[i] ?? 0);
      if (n === undefined) ok = false;
      else handles.push(n);
    }
    if (!ok) continue;
    const args: Record<string, Value> = {};
    for (const k in a.args) {
      if (!(k in spec.keys)) continue;
      const v = a.args[k];
      // Shapes compute addresses from drawn ones (the next huge page, the
      // page past a range); past 2^64 they wrap, as the u64 arithmetic of the
      // C program a test stands for would, so every program has a text form.
      if (v.k === 'int') args[k] = { kind: 'int', value: wrapped(spec.keys[k].type, v.v) };
      else if (v.k === 'map') {
        const n = pickName('mapping', v.pick);
        const off = BigInt.asUintN(64, v.off);
        args[k] = n ? { kind: 'addr', name: n, offset: off } : { kind: 'int', value: off };
      } else {
        const n = pickName('gmem', v.pick);
        args[k] = n ? { kind: 'handle', name: n } : { kind: 'int', value: -1n };
      }
    }
    const call: Call = { op: a.op, handles, args };
    if (a.busy !== undefined) call.busy = a.busy;
    if (spec.creates) {
      const prefix = spec.creates.prefix;
      const i = counters.get(prefix) ?? 0;
      counters.set(prefix, i + 1);
      call.bind = `${prefix}${i}`;
      const list = names.get(spec.creates.kind);
      if (list) list.push(call.bind);
      else names.set(spec.creates.kind, [call.bind]);
    }
    out.push(call);
  }
  return { headers, calls: out };
}
