// Units of the model: pages, frame numbers and half-open ranges.
//
// Frame numbers (PFN, GFN, gmem index) are plain JS numbers: the largest the
// model can meet is a u64 GPA shifted right by 12, below 2^52, which a double
// holds exactly. Raw uAPI arguments stay bigint until a validation ladder has
// accepted them, so a u64 extreme can never lose precision on its way in.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_SIZE_N = 4096n;
export const U64_MAX = (1n << 64n) - 1n;
export const S64_MAX = (1n << 63n) - 1n;

/** Mapping levels: 4K = 0, 2M = 1, 1G = 2. */
export type Level = 0 | 1 | 2;
export const LEVEL_4K: Level = 0;
export const LEVEL_2M: Level = 1;
export const LEVEL_1G: Level = 2;
export const LEVEL_NAMES = ['4K', '2M', '1G'] as const;
/** Every mapping level, smallest first. */
export const LEVELS: readonly Level[] = [LEVEL_4K, LEVEL_2M, LEVEL_1G];

/** Levels of page tables below an EPT root: 1 holds 4K leaves, 4 exists only with 5-level EPT. */
export type TableLevel = 1 | 2 | 3 | 4;

/** The table levels a walk from a root whose highest table is `top` passes above a leaf at `level`, top-down. */
export function tableLevelsAbove(top: TableLevel, level: Level): TableLevel[] {
  return ([4, 3, 2, 1] as const).filter((l) => l <= top && l > level);
}

/**
 * 4 KiB pages covered by one entry at `level` (a leaf at a mapping level, or
 * everything below a table at a table level): 512^level. The one place the
 * model turns a level into a size.
 */
export function pagesAt(level: Level | TableLevel): number {
  return 512 ** level;
}

/** Bytes covered by one entry at `level`. */
export function bytesAt(level: Level | TableLevel): number {
  return pagesAt(level) * PAGE_SIZE;
}

/** The first frame (or byte address, with `bytes`) of the `level` entry that holds `n`. */
export function levelBase(n: number, level: Level | TableLevel, bytes = false): number {
  const size = bytes ? bytesAt(level) : pagesAt(level);
  return n - (n % size);
}

/**
 * A level argument as the uAPI passes it (any u64): the mapping level it
 * names when it is one of `allowed`, else null, so that a caller answers
 * with an error instead of reading 2, 5 or 2^64-1 as some level.
 */
export function levelOf(v: bigint, allowed: readonly Level[]): Level | null {
  return allowed.find((l) => BigInt(l) === v) ?? null;
}

/**
 * The key of the page table at `level` that covers frame `gfn`: the level
 * and the table's index at that level. The one key form of page tables, for
 * KVM's mirror root (GFN-based) and the TDX module's S-EPT (which converts
 * its GPA first); state images and reports print these keys as they are.
 */
export function tableKey(level: TableLevel, gfn: number): string {
  return `${level}:${Math.floor(gfn / pagesAt(level))}`;
}

/** The frame number of a guest physical address (the page it falls in). */
export function gpaToGfn(gpa: number): number {
  return Math.floor(gpa / PAGE_SIZE);
}

/** Folio orders that the host allocator hands out. */
export type Order = 0 | 9 | 18;

export type Pfn = number;
export type Gfn = number;

/** A half-open range [start, end) of frame numbers; `end` is exclusive. */
export interface Range {
  start: number;
  end: number;
}

export function overlaps(a: Range, b: Range): boolean {
  return a.start < b.end && b.start < a.end;
}

export function intersect(a: Range, b: Range): Range | null {
  const start = Math.max(a.start, b.start);
  const end = Math.min(a.end, b.end);
  return start < end ? { start, end } : null;
}

export function isPageAligned(v: bigint): boolean {
  return (v & (PAGE_SIZE_N - 1n)) === 0n;
}

/** Round `n` down to a multiple of `align` (a power of two). */
export function alignDown(n: number, align: number): number {
  return n - (n % align);
}

export function toPages(bytes: bigint): number {
  return Number(bytes >> BigInt(PAGE_SHIFT));
}
