// Host userspace mappings: anonymous memory (a source buffer) or a shared
// mapping of a guest_memfd. Each gets a range of host virtual addresses so
// that a raw integer address in a program means what it would on Linux.

import type { Pfn } from '../units.js';

export interface Mapping {
  id: number;
  va: bigint;
  sizePages: number;
  kind: 'anon' | 'gmem';
  /** For a guest_memfd mapping: the file and the page offset it maps from. */
  gmemId: number;
  pgoff: number;
  /** Anonymous pages touched so far (allocated and zeroed on first touch). */
  anon: Map<number, Pfn>;
  unmapped: boolean;
  /** Pages pinned through this mapping, per page offset, most recent last. */
  pins?: Map<number, Pfn[]>;
}

/** Host mappings start here and are spaced on 1 GiB boundaries, like a real mmap area. */
export const FIRST_VA = 0x7f0000000000n;
/** TASK_SIZE_MAX with 4-level paging: the end of legal user addresses (access_ok()). */
export const TASK_SIZE_MAX = 0x7ffffffff000n;

export function mappingAt(maps: Iterable<Mapping>, va: bigint): Mapping | undefined {
  for (const m of maps) {
    if (!m.unmapped && va >= m.va && va < m.va + BigInt(m.sizePages) * 4096n) return m;
  }
  return undefined;
}
