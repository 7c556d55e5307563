// MRTD: a real SHA-384 over the measured operations in order, each encoded as
// the TDX ABI hashes it: a 128-byte block naming the operation with the GPA
// at byte 16, and for MR.EXTEND the 256 measured bytes after it. A page's
// content is its fill byte repeated.

import { createHash } from 'node:crypto';
import type { MrtdRecord, Td } from './state.js';
import type { Gpa } from '../units.js';

function block(name: string, gpa: Gpa): Buffer {
  const b = Buffer.alloc(128);
  b.write(name, 0, 'ascii');
  b.writeBigUInt64LE(BigInt(gpa), 16);
  return b;
}

export function encodeRecord(r: MrtdRecord): Buffer {
  if (r.op === 'ADD') return block('MEM.PAGE.ADD', r.gpa);
  return Buffer.concat([block('MR.EXTEND', r.gpa), Buffer.alloc(256, r.byte)]);
}

export function mrtdDigest(td: Td): string {
  if (td.mrtd.finalized !== null) return td.mrtd.finalized;
  const h = createHash('sha384');
  for (const r of td.mrtd.records) h.update(encodeRecord(r));
  return h.digest('hex');
}
