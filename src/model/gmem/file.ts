// The guest_memfd file: one VM's view of an inode, with the table of memslot
// bindings. Models struct gmem_file and kvm_gmem_bind()/unbind()/release().

import { clearRange, newIntervalMap, segmentsIn, setRange, type IntervalMap } from '../intervals.js';
import type { GmemInode } from './inode.js';

export interface Gmem {
  id: number;
  vmId: number;
  inode: GmemInode;
  /** index -> uid of the memslot bound there. */
  bindings: IntervalMap<number>;
  /** The fd is open; CLOSE drops it. */
  fdOpen: boolean;
  /** Host mappings that still hold a file reference. */
  mmaps: number;
  /** kvm_gmem_release() has run: bindings are gone and the VM reference is dropped. */
  released: boolean;
}

export function newGmem(id: number, vmId: number, inode: GmemInode): Gmem {
  return { id, vmId, inode, bindings: newIntervalMap(), fdOpen: true, mmaps: 0, released: false };
}

export function isBound(g: Gmem, start: number, end: number): boolean {
  return segmentsIn(g.bindings, start, end).length > 0;
}

export function bind(g: Gmem, start: number, end: number, slotUid: number): void {
  setRange(g.bindings, start, end, slotUid);
}

export function unbind(g: Gmem, start: number, end: number): void {
  clearRange(g.bindings, start, end);
}

export function boundSlotAt(g: Gmem, index: number): number | undefined {
  const s = segmentsIn(g.bindings, index, index + 1)[0];
  return s?.value;
}

/** The file holds references from its fd and from each host mapping. */
export function fileRefs(g: Gmem): number {
  return (g.fdOpen ? 1 : 0) + g.mmaps;
}
