// A fast-check arbitrary of syntactically valid programs over the whole
// vocabulary: every op, handles of the right kind bound by earlier calls,
// in-range values including u64 extremes, optional keys, [busy=N] and
// expectations. It exercises the parser and printer, not the model.

import fc from 'fast-check';
import { ERRNOS, OUTCOMES } from '../model/errno.js';
import { TDX_STATUS_NAMES } from '../model/tdx/status.js';
import { CALLS, type ArgType, type CallSpec } from './calls.js';
import type { Call, HandleKind, Program, Result, Value } from './types.js';


const u = (bits: number) => fc.oneof(
  fc.constantFrom(0n, 1n, (1n << BigInt(bits)) - 1n),
  fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
);

function intFor(t: ArgType): fc.Arbitrary<bigint> {
  switch (t.t) {
    case 'uint': return u(t.bits);
    case 'bool': return fc.constantFrom(0n, 1n);
    case 'flags': return fc.oneof(fc.subarray(Object.values(t.names)).map((bs) => bs.reduce((a, b) => a | b, 0n)), u(64));
    case 'enum': return t.open ? fc.oneof(fc.constantFrom(...Object.values(t.names)), u(64)) : fc.constantFrom(...Object.values(t.names));
    case 'addr': return fc.oneof(fc.constant(0n), u(64));
    case 'gmemOrFd': return fc.bigInt({ min: -(1n << 31n), max: (1n << 31n) - 1n });
  }
}

/** The names of live handles, per kind, at a point of generation. */
type Scope = Map<HandleKind, string[]>;

function valueFor(t: ArgType, scope: Scope): fc.Arbitrary<Value> {
  const int = intFor(t).map((value): Value => ({ kind: 'int', value }));
  const maps = scope.get('mapping') ?? [];
  const gmems = scope.get('gmem') ?? [];
  if (t.t === 'addr' && maps.length > 0) {
    return fc.oneof(int, fc.record({ name: fc.constantFrom(...maps), offset: u(64) }).map((r): Value => ({ kind: 'addr', ...r })));
  }
  if (t.t === 'gmemOrFd' && gmems.length > 0) {
    return fc.oneof(int, fc.constantFrom(...gmems).map((name): Value => ({ kind: 'handle', name })));
  }
  return int;
}

const resultArb: fc.Arbitrary<Result> = fc.oneof(
  u(64).map((value): Result => ({ kind: 'int', value })),
  fc.constantFrom(...ERRNOS).map((name): Result => ({ kind: 'errno', name })),
  fc.constantFrom(...OUTCOMES).map((name): Result => ({ kind: 'outcome', name })),
  fc.constantFrom(...TDX_STATUS_NAMES).map((name): Result => ({ kind: 'tdx', name })),
);

function callArb(spec: CallSpec, scope: Scope, fresh: string): fc.Arbitrary<Call> | null {
  const handles: fc.Arbitrary<string>[] = [];
  for (const want of spec.handles) {
    const kinds = Array.isArray(want) ? want : [want];
    const names = kinds.flatMap((k) => scope.get(k) ?? []);
    if (names.length === 0) return null;
    handles.push(fc.constantFrom(...names));
  }
  const keys = Object.entries(spec.keys).filter(([k]) => !(spec.op === 'GUEST_ACCESS' && k === 'byte'));
  const args = fc.tuple(...keys.map(([, ks]) => fc.tuple(valueFor(ks.type, scope), fc.boolean().map((b) => b || !ks.optional))));
  return fc.record({
    handles: fc.tuple(...handles),
    args,
    busy: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    expect: fc.option(resultArb, { nil: undefined }),
    byte: fc.option(u(8), { nil: undefined }),
  }).map((r) => {
    const call: Call = { op: spec.op, handles: r.handles, args: {} };
    keys.forEach(([k], i) => {
      const [v, present] = r.args[i];
      if (present) call.args[k] = v;
    });
    if (spec.op === 'GUEST_ACCESS' && r.byte !== undefined) {
      call.args.write = { kind: 'int', value: 1n };
      call.args.byte = { kind: 'int', value: r.byte };
    }
    if (spec.creates) call.bind = fresh;
    if (r.busy !== undefined) call.busy = r.busy;
    if (r.expect !== undefined) call.expect = r.expect;
    return call;
  });
}

/** Programs of up to `maxCalls` calls, built call by call so handles always resolve. */
export function arbProgram(maxCalls = 12): fc.Arbitrary<Program> {
  const specs = Object.values(CALLS);
  return fc.record({
    picks: fc.array(fc.tuple(fc.nat(specs.length - 1), fc.nat()), { maxLength: maxCalls }),
    headers: fc.array(fc.tuple(fc.constantFrom('profile', 'bugs', 'note', 'invariant'), fc.stringMatching(/^[a-z0-9 ,.-]{0,20}$/)), { maxLength: 3 }),
    seed: fc.integer(),
  }).chain(({ picks, headers }) => {
    // Choose the ops first, then generate each call against the names bound before it.
    const scope: Scope = new Map();
    const arbs: fc.Arbitrary<Call>[] = [];
    let n = 0;
    for (const [i] of picks) {
      let spec = specs[i];
      let a = callArb(spec, scope, `h${n}`);
      if (!a) {
        spec = CALLS.KVM_CREATE_VM;
        a = callArb(spec, scope, `h${n}`)!;
      }
      arbs.push(a);
      if (spec.creates) {
        const list = scope.get(spec.creates.kind) ?? [];
        scope.set(spec.creates.kind, [...list, `h${n}`]);
        n++;
      }
    }
    return fc.tuple(...arbs).map((calls): Program => ({ headers: headers.map(([k, v]) => [k, v.trim()] as [string, string]), calls }));
  });
}

