// What a call returns: a value, an errno, an outcome or a TDX status, plus the
// fd of a handle it created.

import type { Errno, Outcome } from './errno.js';
import type { TdxStatus } from './tdx/status.js';

export type Result =
  | { kind: 'int'; value: bigint }
  | { kind: 'errno'; name: Errno }
  | { kind: 'outcome'; name: Outcome }
  | { kind: 'tdx'; name: TdxStatus };

/** `handle`: the fd (or mapping id) of a handle the call created. */
export type Ret = Result & { handle?: number };

export const OK0: Ret = { kind: 'int', value: 0n };
export const ok = (): Ret => OK0;
export const val = (v: number | bigint): Ret => ({ kind: 'int', value: BigInt(v) });
export const err = (name: Errno): Ret => ({ kind: 'errno', name });
export const outcome = (name: Outcome): Ret => ({ kind: 'outcome', name });
export const tdxStatus = (name: TdxStatus): Ret => ({ kind: 'tdx', name });
export const created = (handle: number): Ret => ({ kind: 'outcome', name: 'OK', handle });

export function isErr(r: Ret): r is Ret & { kind: 'errno' } {
  return r.kind === 'errno';
}

export function sameResult(a: Result, b: Result): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'int' && b.kind === 'int') return a.value === b.value;
  return (a as { name: string }).name === (b as { name: string }).name;
}

export function resultText(r: Result): string {
  return r.kind === 'int' ? r.value.toString() : r.name;
}
