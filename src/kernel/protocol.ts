// The executor's line protocol (executor/executor.c): a call goes out as
// `OP =bind h:NAME... key=VALUE...`, with addresses as `@MAPPING+OFFSET`,
// and comes back as `R RESULT`, `R OK N` or `U REASON`.

import { isErrno } from '../model/errno.js';
import type { Result } from '../model/result.js';
import { CALLS } from '../program/calls.js';
import type { Call } from '../program/types.js';

export function encodeCall(c: Call): string {
  const parts: string[] = [c.op];
  if (c.bind) parts.push(`=${c.bind}`);
  for (const h of c.handles) parts.push(`h:${h}`);
  for (const [k, v] of Object.entries(c.args)) {
    if (v.kind === 'int') parts.push(`${k}=${v.value}`);
    else if (v.kind === 'addr') parts.push(`${k}=@${v.name}+${v.offset}`);
    // A guest_memfd handle given as `gmem=g0` is a positional handle for the executor.
    else if (CALLS[c.op]?.keys[k]?.type.t === 'gmemOrFd') parts.push(`h:${v.name}`);
    else parts.push(`${k}=@${v.name}+0`);
  }
  return parts.join(' ');
}

/** What the kernel answered: a result of the program format, another exit, or "cannot run here". */
export type KernelAnswer =
  | { kind: 'result'; result: Result }
  | { kind: 'other'; text: string }
  | { kind: 'unsupported'; reason: string };

const OUTCOMES = new Set(['OK', 'SIGBUS', 'EXIT_MEMORY_FAULT', 'EXIT_MMIO']);

export function decodeAnswer(line: string): KernelAnswer {
  if (line.startsWith('U ')) return { kind: 'unsupported', reason: line.slice(2) };
  if (!line.startsWith('R ')) return { kind: 'other', text: `bad executor line '${line}'` };
  const body = line.slice(2);
  if (/^OK \d+$/.test(body) || body === 'OK') return { kind: 'result', result: { kind: 'outcome', name: 'OK' } };
  if (/^-?\d+$/.test(body) || /^0x[0-9a-f]+$/i.test(body)) return { kind: 'result', result: { kind: 'int', value: BigInt(body) } };
  if (OUTCOMES.has(body)) return { kind: 'result', result: { kind: 'outcome', name: body as 'OK' } };
  if (isErrno(body)) return { kind: 'result', result: { kind: 'errno', name: body } };
  return { kind: 'other', text: body.replace(/^X:/, '') };
}

export function answerText(a: KernelAnswer): string {
  if (a.kind === 'unsupported') return `unsupported (${a.reason})`;
  if (a.kind === 'other') return a.text;
  return a.result.kind === 'int' ? a.result.value.toString() : a.result.name;
}
