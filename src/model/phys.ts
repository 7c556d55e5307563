// Physical memory contents, one fill byte per 4 KiB frame. This is the only
// view of memory that both the host side and the simulated TDX module share:
// it knows frames, never folios or guest_memfd. A frame never written reads 0;
// a freed frame keeps its bytes, so stale data is visible if anyone forgets to
// zero a page before exposing it.

import type { Pfn } from './units.js';

export interface PhysMem {
  bytes: Map<Pfn, number>;
}

export function newPhysMem(): PhysMem {
  return { bytes: new Map() };
}

export function readFrame(m: PhysMem, pfn: Pfn): number {
  return m.bytes.get(pfn) ?? 0;
}

export function writeFrame(m: PhysMem, pfn: Pfn, byte: number): void {
  if (byte === 0) m.bytes.delete(pfn);
  else m.bytes.set(pfn, byte & 0xff);
}

export function copyFrame(m: PhysMem, from: Pfn, to: Pfn): void {
  writeFrame(m, to, readFrame(m, from));
}
