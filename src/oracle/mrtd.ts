// The oracle's own MRTD: SHA-384 over the measured operations in order. Each
// operation is a 128-byte block, its ASCII name at byte 0 and its GPA as a
// little-endian u64 at byte 16; MR.EXTEND adds the 256 bytes it measured
// (docs/choices.md). Written from that description, not from the model.

import { createHash } from 'node:crypto';
import type { RefRecord, RefTd } from './state.js';

export function encode(r: RefRecord): Buffer {
  const head = Buffer.alloc(128);
  head.write(r.op === 'ADD' ? 'MEM.PAGE.ADD' : 'MR.EXTEND', 0, 'ascii');
  head.writeBigUInt64LE(BigInt(r.gpa), 16);
  return r.op === 'ADD' ? head : Buffer.concat([head, Buffer.alloc(256, r.byte)]);
}

export function newTd(): RefTd {
  return { phase: 'UNINITIALIZED', records: [], hash: createHash('sha384') };
}

export function appendRecord(td: RefTd, r: RefRecord): void {
  td.records.push(r);
  td.hash.update(encode(r));
}

export function digest(td: RefTd): string {
  return td.hash.copy().digest('hex');
}

/** SHA-384 of any record list (the model's, re-encoded here) for comparison. */
export function digestOf(records: readonly RefRecord[]): string {
  const h = createHash('sha384');
  for (const r of records) h.update(encode(r));
  return h.digest('hex');
}

export const recordText = (r: RefRecord): string =>
  r.op === 'ADD' ? `ADD 0x${r.gpa.toString(16)}` : `EXTEND 0x${r.gpa.toString(16)} byte 0x${r.byte.toString(16)}`;
