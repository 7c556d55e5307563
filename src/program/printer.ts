// The canonical printer: renumbered handles, one call per line, every value
// in one fixed spelling, so print(parse(print(p))) === print(p).
//
// Integers: counts, ids, widths and booleans (id, slot, nr_pages, gpaw,
// shared, private, write) print in decimal; every address, size, offset and byte in 0x-hex
// (0 as 0x0); flag sets by name joined with '|' in table order, 0 when empty,
// hex when a bit has no name; enums by name when known. Results print in
// decimal below 10 and in hex from 10 up.

import { CALLS, type ArgType } from './calls.js';
import type { Call, Program, Result, Value } from './types.js';

const DECIMAL_KEYS = new Set(['id', 'slot', 'nr_pages', 'shared', 'private', 'write', 'gpaw']);

const hex = (v: bigint) => (v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);

function printInt(key: string, t: ArgType, v: bigint): string {
  if (t.t === 'flags') {
    if (v === 0n) return '0';
    const names: string[] = [];
    let left = v;
    for (const [n, bit] of Object.entries(t.names)) {
      if ((v & bit) === bit && bit !== 0n) {
        names.push(n);
        left &= ~bit;
      }
    }
    return left === 0n ? names.join('|') : hex(v);
  }
  if (t.t === 'enum') {
    const name = Object.entries(t.names).find(([, b]) => b === v)?.[0];
    return name ?? v.toString();
  }
  if (t.t === 'gmemOrFd' || v < 0n) return v.toString();
  if (t.t === 'bool' || DECIMAL_KEYS.has(key)) return v.toString();
  return hex(v);
}

function printValue(key: string, t: ArgType, v: Value, rename: (n: string) => string): string {
  if (v.kind === 'int') return printInt(key, t, v.value);
  if (v.kind === 'handle') return rename(v.name);
  return `${rename(v.name)}+${hex(v.offset)}`;
}

export function printResult(r: Result): string {
  if (r.kind === 'int') return r.value < 10n ? r.value.toString() : hex(r.value);
  return r.name;
}

export function printCall(call: Call, rename: (n: string) => string = (n) => n, result?: Result): string {
  const spec = CALLS[call.op];
  const parts: string[] = call.handles.map(rename);
  if (spec) {
    for (const [k, ks] of Object.entries(spec.keys)) {
      const v = call.args[k];
      if (v !== undefined) parts.push(`${k}=${printValue(k, ks.type, v, rename)}`);
    }
  }
  let s = `${call.bind ? `${rename(call.bind)} = ` : ''}${call.op}(${parts.join(', ')})`;
  if (call.busy !== undefined) s += ` [busy=${call.busy}]`;
  const r = result ?? call.expect;
  if (r) s += ` -> ${printResult(r)}`;
  if (call.comment) s += `  # ${call.comment}`;
  return s;
}

/** Canonical names: by printer prefix and creation order (vm0, cpu0, g0, m0, src0 ...). */
export function canonicalNames(p: Program): Map<string, string> {
  const counters = new Map<string, number>();
  const names = new Map<string, string>();
  for (const c of p.calls) {
    if (!c.bind) continue;
    const prefix = CALLS[c.op]?.creates?.prefix ?? 'h';
    const n = counters.get(prefix) ?? 0;
    counters.set(prefix, n + 1);
    names.set(c.bind, `${prefix}${n}`);
  }
  return names;
}

function renameValue(v: Value, rn: (n: string) => string): Value {
  if (v.kind === 'int') return v;
  return v.kind === 'handle' ? { kind: 'handle', name: rn(v.name) } : { kind: 'addr', name: rn(v.name), offset: v.offset };
}

/** A copy of the program with canonical handle names. */
export function renumber(p: Program): Program {
  const names = canonicalNames(p);
  const rn = (n: string) => names.get(n) ?? n;
  return {
    headers: p.headers.map(([k, v]) => [k, v] as [string, string]),
    calls: p.calls.map((c) => ({
      ...c,
      bind: c.bind ? rn(c.bind) : undefined,
      handles: c.handles.map(rn),
      args: Object.fromEntries(Object.entries(c.args).map(([k, v]) => [k, renameValue(v, rn)])),
    })),
  };
}

export interface PrintOptions {
  /** Replaces each call's expectation, so a printed program pins every actual result. */
  results?: ReadonlyArray<Result | undefined>;
  /** Drop comment lines that stood between calls. */
  noLeading?: boolean;
}

export function printProgram(p: Program, opts: PrintOptions = {}): string {
  const names = canonicalNames(p);
  const rn = (n: string) => names.get(n) ?? n;
  const lines = ['# tdxfuzz program v1'];
  for (const [k, v] of p.headers) lines.push(`# ${k}: ${v}`);
  p.calls.forEach((c, i) => {
    if (!opts.noLeading) for (const l of c.leading ?? []) lines.push(l);
    lines.push(printCall(c, rn, opts.results?.[i]));
  });
  return `${lines.join('\n')}\n`;
}
