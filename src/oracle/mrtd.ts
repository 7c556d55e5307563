// The oracle's own MRTD: SHA-384 over the measured operations in order. Each
// operation is a 128-byte block, its ASCII name at byte 0 and its GPA as a
// little-endian u64 at byte 16; MR.EXTEND adds the 256 bytes it measured
// (docs/choices.md). Written from that description, not from the model.
// The oracle keeps one entry per added page (its ADD, then 16 EXTENDs of
// its content when measured), which is all a page can contribute.

import { createHash } from 'node:crypto';
import type { RefPage, RefRecord, RefTd } from './state.js';

export function encode(r: RefRecord): Buffer {
  const head = Buffer.alloc(128);
  head.write(r.op === 'ADD' ? 'MEM.PAGE.ADD' : 'MR.EXTEND', 0, 'ascii');
  head.writeBigUInt64LE(BigInt(r.gpa), 16);
  return r.op === 'ADD' ? head : Buffer.concat([head, Buffer.alloc(256, r.byte)]);
}

/** The records one added page contributes, in order. */
export function recordsOf(p: RefPage): RefRecord[] {
  const out: RefRecord[] = [{ op: 'ADD', gpa: p.gpa }];
  for (let j = 0; j < p.extends; j++) out.push({ op: 'EXTEND', gpa: p.gpa + j * 256, byte: p.byte });
  return out;
}

export function newTd(): RefTd {
  return { phase: 'UNINITIALIZED', pages: [], count: 0, hashed: 0, hash: null, digest: null };
}

export function addPage(td: RefTd, p: RefPage): void {
  td.pages.push(p);
  td.count += 1 + p.extends;
  td.digest = null;
}

/** SHA-384 of the records so far; hashed lazily, only when someone compares it. */
export function digest(td: RefTd): string {
  if (td.digest !== null) return td.digest;
  const h = (td.hash ??= createHash('sha384'));
  for (; td.hashed < td.pages.length; td.hashed++) for (const r of recordsOf(td.pages[td.hashed])) h.update(encode(r));
  return (td.digest = h.copy().digest('hex'));
}

export const recordText = (r: RefRecord): string =>
  r.op === 'ADD' ? `ADD 0x${r.gpa.toString(16)}` : `EXTEND 0x${r.gpa.toString(16)} byte 0x${r.byte.toString(16)}`;

/**
 * The first place where `records` (the model's) differs from the oracle's,
 * starting at page `fromPage`; both lists are assumed equally long.
 */
export function firstMismatch(records: readonly RefRecord[], td: RefTd, fromPage: number): { index: number; model: RefRecord; oracle: RefRecord } | null {
  let i = 0;
  for (let k = 0; k < fromPage; k++) i += 1 + td.pages[k].extends;
  for (let k = fromPage; k < td.pages.length; k++) {
    const p = td.pages[k];
    const n = 1 + p.extends;
    for (let j = 0; j < n; j++, i++) {
      const m = records[i];
      const gpa = j === 0 ? p.gpa : p.gpa + (j - 1) * 256;
      const same = m !== undefined && m.gpa === gpa && (j === 0 ? m.op === 'ADD' : m.op === 'EXTEND' && m.byte === p.byte);
      if (!same) {
        const o: RefRecord = j === 0 ? { op: 'ADD', gpa } : { op: 'EXTEND', gpa, byte: p.byte };
        return { index: i, model: m ?? { op: 'ADD', gpa: -1 }, oracle: o };
      }
    }
  }
  return null;
}
