// A program is plain data: the one representation the fuzzer generates and
// shrinks, the corpus stores, `replay` runs and people write by hand
// (program-format.md).

import type { Result } from '../model/result.js';
import type { Op } from './calls.js';

export type { Result } from '../model/result.js';

export type { HandleKind } from './calls.js';

/**
 * An argument value. Integers and flag sets are both `int` (a flag set is its
 * mask; the vocabulary knows the bit names); enums are `int` too. `addr` is a
 * mapping handle plus a byte offset (`src0+0x1000`).
 */
export type Value =
  | { kind: 'int'; value: bigint }
  | { kind: 'handle'; name: string }
  | { kind: 'addr'; name: string; offset: bigint };

export interface Call {
  /** Operation name, a key of CALLS. */
  op: Op;
  /** The name this call binds, for calls that create a handle. */
  bind?: string;
  /** Positional handle arguments, in the order the vocabulary declares. */
  handles: string[];
  /** key=value arguments. */
  args: Record<string, Value>;
  /** `[busy=N]`: the N-th SEAMCALL this call issues returns TDX_OPERAND_BUSY once. */
  busy?: number;
  /** `-> result` expectation. */
  expect?: Result;
  /** A trailing `# comment` on the call line, kept verbatim. */
  comment?: string;
  /** Comment lines that stood right before the call, kept so a printed program keeps its notes. */
  leading?: string[];
  /** 1-based source line, when parsed from text. */
  line?: number;
}

export interface Program {
  /** Header comments in order, `# key: value` -> [key, value]. */
  headers: Array<[string, string]>;
  calls: Call[];
}

export function header(p: Program, key: string): string | undefined {
  return p.headers.find(([k]) => k === key)?.[1];
}

/** The seeded bugs a `# bugs:` header names ("none" or absent: no bugs). */
export function headerBugs(p: Program): string[] {
  return (header(p, 'bugs') ?? '').split(/[\s,]+/).filter((b) => b && b !== 'none');
}

/**
 * The headers with `# profile:` and `# bugs:` set to the design a program
 * was run under, so a shrunk, merged or minimised copy replays the same way
 * (a command-line override becomes part of the file). Other headers keep
 * their order; missing ones are added after the existing ones.
 */
export function withSetup(headers: ReadonlyArray<[string, string]>, profile: string, bugs: readonly string[], invariant?: string): Array<[string, string]> {
  const set: Record<string, string> = { profile, bugs: bugs.length ? bugs.join(',') : 'none' };
  if (invariant !== undefined) set.invariant = invariant;
  const out = headers.map(([k, v]): [string, string] => [k, k in set ? set[k] : v]);
  for (const [k, v] of Object.entries(set)) if (!out.some(([x]) => x === k)) out.push([k, v]);
  return out;
}
