// The program parser (program-format.md). It never throws: every problem
// becomes a ParseError naming the line, the column and what was expected, and
// a program with any error runs nothing.

import { isErrno, isOutcome } from '../model/errno.js';
import { isTdxStatus } from '../model/tdx/status.js';
import { CALL_NAMES, CALLS, isOp, type ArgType, type CallSpec } from './calls.js';
import { ParseFailure, type ParseError } from './errors.js';
import { Cursor } from './lexer.js';
import type { Call, HandleKind, Program, Result, Value } from './types.js';

export { formatParseError, type ParseError } from './errors.js';

export type ParseResult = { ok: true; program: Program } | { ok: false; error: ParseError };

export const CURRENT_VERSION = 'v1';
const VERSION_RE = /^#\s*tdxfuzz program (\S+)\s*$/;
const NAME_RE = /^[a-z][a-z0-9]*$/;

/**
 * The one place older program versions would be upgraded. Only v1 exists;
 * a v2 reader would rewrite a v1 program here before returning it.
 */
export function migrate(version: string, p: Program, line: number): Program {
  if (version !== CURRENT_VERSION) {
    throw new ParseFailure(line, 1, `unknown program version '${version}' (this tdxfuzz reads ${CURRENT_VERSION})`);
  }
  return p;
}

export interface ParseOptions {
  /**
   * A file with no calls must have the version line: an empty or foreign file
   * is not taken for an empty program. (With calls, v1 is assumed, as the
   * format promises.)
   */
  requireVersion?: boolean;
}

export function parseProgram(text: string, file = '<input>', po: ParseOptions = {}): ParseResult {
  try {
    const program = parseLines(String(text));
    if (po.requireVersion && program.calls.length === 0) checkVersionLine(String(text));
    return { ok: true, program };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: { file, line: e.line, col: e.col, message: e.message } };
    return { ok: false, error: { file, line: 1, col: 1, message: `internal parser error: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

function checkVersionLine(text: string): void {
  const lines = text.split(/\r?\n/);
  const i = lines.findIndex((l) => l.trim() !== '');
  if (i < 0) throw new ParseFailure(1, 1, `empty file: expected the line '# tdxfuzz program ${CURRENT_VERSION}' (a program with no calls still has it)`);
  if (!lines.some((l) => VERSION_RE.test(l.trim()))) throw new ParseFailure(i + 1, 1, `no calls and no '# tdxfuzz program ${CURRENT_VERSION}' line: not a program (found '${lines[i].trim().slice(0, 60)}')`);
}

/**
 * The parser proper. It reports every problem by throwing a ParseFailure;
 * any other exception is a parser defect, which parseProgram() would hide as
 * an "internal parser error", so tests call this directly.
 */
export function parseLines(text: string): Program {
  const p: Program = { headers: [], calls: [] };
  const kinds = new Map<string, HandleKind>();
  let version = CURRENT_VERSION;
  let versionLine = 1;
  let pending: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '') return;
    if (t.startsWith('#')) {
      const v = VERSION_RE.exec(t);
      if (v) {
        if (p.calls.length > 0) throw new ParseFailure(line, 1, 'the version line must come before the first call');
        version = v[1];
        versionLine = line;
        return;
      }
      const h = /^#\s*([A-Za-z][\w-]*):\s?(.*)$/.exec(t);
      if (h && p.calls.length === 0 && pending.length === 0) p.headers.push([h[1], h[2].trimEnd()]);
      else pending.push(t);
      return;
    }
    const call = parseCall(new Cursor(raw, line), kinds);
    if (pending.length > 0) call.leading = pending;
    pending = [];
    p.calls.push(call);
  });
  return migrate(version, p, versionLine);
}

function parseCall(c: Cursor, kinds: Map<string, HandleKind>): Call {
  c.skipSpace();
  const start = c.pos;
  let bind: string | undefined;
  let op = c.ident();
  if (!op) c.fail(`expected a call name, found ${c.describeNext()}`);
  if (c.eat('=')) {
    if (!NAME_RE.test(op)) c.fail(`handle name '${op}' must match [a-z][a-z0-9]*`, start);
    bind = op;
    const at = c.pos;
    op = c.ident();
    if (!op) c.fail(`expected a call name after '${bind} =', found ${c.describeNext()}`, at);
  }
  if (!isOp(op)) c.fail(`unknown call '${op}' (expected one of: ${CALL_NAMES.join(', ')})`, start + (bind ? c.text.slice(start).indexOf(op) : 0));
  const spec: CallSpec = CALLS[op];
  c.expect('(', `'(' after ${op}`);
  const call: Call = { op, handles: [], args: {}, line: c.line };
  parseArgs(c, spec, call, kinds);
  if (c.eat('[')) {
    const at = c.pos;
    if (c.ident() !== 'busy' || !c.eat('=')) c.fail("expected 'busy=N' inside '[...]'", at);
    const n = c.integer();
    if (n === null || n < 1n || n > 1_000_000n) c.fail('expected a positive integer N in [busy=N]');
    call.busy = Number(n);
    c.expect(']', "']' after [busy=N");
  }
  if (c.eat('->')) call.expect = parseResult(c);
  if (c.eat('#')) call.comment = c.rest().trim();
  if (!c.atEnd()) c.fail(`expected '->', '#' or end of line, found ${c.describeNext()}`);
  if (bind !== undefined) {
    if (!spec.creates) c.fail(`${op} does not create a handle, so '${bind} =' cannot bind one`, start);
    if (kinds.has(bind)) c.fail(`handle '${bind}' is already bound`, start);
    kinds.set(bind, spec.creates.kind);
    call.bind = bind;
  }
  return call;
}

function parseArgs(c: Cursor, spec: CallSpec, call: Call, kinds: Map<string, HandleKind>): void {
  let sawKey = false;
  if (!c.eat(')')) {
    for (;;) {
      const at = c.pos;
      c.skipSpace();
      const nameAt = c.pos;
      const name = c.ident();
      if (!name) c.fail(`expected a handle or key=value argument, found ${c.describeNext()}`);
      if (c.eat('=')) {
        sawKey = true;
        const ks = spec.keys[name];
        if (!ks) c.fail(`unknown key '${name}' for ${spec.op} (expected one of: ${Object.keys(spec.keys).join(', ') || 'no keys'})`, nameAt);
        if (name in call.args) c.fail(`duplicate key '${name}'`, nameAt);
        call.args[name] = parseValue(c, ks.type, name, kinds);
      } else {
        if (sawKey) c.fail(`handle '${name}' must come before the key=value arguments`, nameAt);
        const idx = call.handles.length;
        if (idx >= spec.handles.length) c.fail(`${spec.op} takes ${spec.handles.length} handle(s), found another: '${name}'`, nameAt);
        checkHandle(c, name, spec.handles[idx], kinds, nameAt);
        call.handles.push(name);
      }
      void at;
      if (c.eat(')')) break;
      c.expect(',', `',' or ')' after an argument`);
    }
  }
  if (call.handles.length < spec.handles.length) c.fail(`${spec.op} needs ${spec.handles.length} handle(s) (${spec.handles.map(kindText).join(', ')}), got ${call.handles.length}`);
  for (const [k, ks] of Object.entries(spec.keys)) {
    if (!ks.optional && !(k in call.args)) c.fail(`missing key '${k}' for ${spec.op}`);
  }
  if (call.op === 'GUEST_ACCESS' && 'byte' in call.args) {
    const w = call.args.write;
    if (w.kind !== 'int' || w.value !== 1n) c.fail("'byte' is only allowed with write=1");
  }
}

const kindText = (k: HandleKind | HandleKind[]) => (Array.isArray(k) ? k.join('|') : k);

function checkHandle(c: Cursor, name: string, want: HandleKind | HandleKind[], kinds: Map<string, HandleKind>, at: number): void {
  const k = kinds.get(name);
  if (!k) c.fail(`unknown handle '${name}' (no earlier call binds it)`, at);
  const ok = Array.isArray(want) ? want.includes(k) : k === want;
  if (!ok) c.fail(`handle '${name}' is a ${k}, expected ${kindText(want)}`, at);
}

function parseValue(c: Cursor, t: ArgType, key: string, kinds: Map<string, HandleKind>): Value {
  c.skipSpace();
  const at = c.pos;
  const num = c.integer();
  if (num !== null) return { kind: 'int', value: checkInt(c, t, key, num, at) };
  const id = c.word();
  if (!id) c.fail(`expected a value for '${key}', found ${c.describeNext()}`);
  switch (t.t) {
    case 'flags': {
      let mask = 0n;
      let name: string | null = id;
      let nameAt = at;
      for (;;) {
        const bit = t.names[name];
        if (bit === undefined) c.fail(`unknown flag '${name}' for '${key}' (expected ${Object.keys(t.names).join(', ')})`, nameAt);
        mask |= bit;
        if (!c.eat('|')) break;
        c.skipSpace();
        nameAt = c.pos;
        name = c.ident();
        if (!name) c.fail(`expected a flag name after '|'`);
      }
      return { kind: 'int', value: mask };
    }
    case 'enum': {
      const v = t.names[id];
      if (v === undefined) c.fail(`unknown value '${id}' for '${key}' (expected ${Object.keys(t.names).join(', ')})`, at);
      return { kind: 'int', value: v };
    }
    case 'addr': {
      checkHandle(c, id, 'mapping', kinds, at);
      let offset = 0n;
      if (c.eat('+')) {
        const o = c.integer();
        if (o === null || o < 0n || o > (1n << 64n) - 1n) c.fail(`expected a u64 offset after '${id}+'`);
        offset = o;
      }
      return { kind: 'addr', name: id, offset };
    }
    case 'gmemOrFd':
      checkHandle(c, id, 'gmem', kinds, at);
      return { kind: 'handle', name: id };
    default:
      c.fail(`expected an integer for '${key}', found '${id}'`, at);
  }
}

function checkInt(c: Cursor, t: ArgType, key: string, v: bigint, at: number): bigint {
  const u64 = (1n << 64n) - 1n;
  const range = (lo: bigint, hi: bigint, what: string) => {
    if (v < lo || v > hi) c.fail(`value ${v < 0n ? v : `0x${v.toString(16)}`} out of range for ${what} '${key}'`, at);
  };
  switch (t.t) {
    case 'uint': range(0n, (1n << BigInt(t.bits)) - 1n, `u${t.bits}`); break;
    case 'bool': range(0n, 1n, '0|1'); break;
    case 'flags': range(0n, u64, 'u64 flags'); break;
    case 'addr': range(0n, u64, 'u64 address'); break;
    case 'gmemOrFd': range(-(1n << 31n), (1n << 31n) - 1n, 'fd'); break;
    case 'enum':
      if (!t.open) c.fail(`expected one of ${Object.keys(t.names).join(', ')} for '${key}'`, at);
      range(0n, u64, 'u64');
      break;
  }
  return v;
}

function parseResult(c: Cursor): Result {
  c.skipSpace();
  const at = c.pos;
  const n = c.integer();
  if (n !== null) {
    if (n < 0n || n > (1n << 64n) - 1n) c.fail('a result value must be a u64 (write errnos by name)', at);
    return { kind: 'int', value: n };
  }
  const id = c.ident();
  if (id && isErrno(id)) return { kind: 'errno', name: id };
  if (id && isOutcome(id)) return { kind: 'outcome', name: id };
  if (id && isTdxStatus(id)) return { kind: 'tdx', name: id };
  c.fail(`expected a result (an integer, an errno such as EINVAL, OK, EXIT_MEMORY_FAULT, EXIT_MMIO, SIGBUS or a TDX_* status), found ${id ? `'${id}'` : c.describeNext()}`, at);
}
