// Units of the model: pages, frame numbers and half-open ranges.
//
// Frame numbers and addresses are JS numbers: the largest the model can meet
// is a u64 GPA shifted right by 12, below 2^52, which a double holds
// exactly. Host frames (Pfn), guest frames (Gfn) and guest and host byte
// addresses (Gpa, Hpa) carry a type-only tag so that tsc refuses one where
// another is expected; guest_memfd page indexes stay plain numbers. Raw uAPI arguments stay bigint until a validation ladder has
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

/** The first frame (or byte address, with `bytes`) of the `level` entry that holds `n`, in `n`'s unit. */
export function levelBase<N extends Pfn | Gfn | Gpa>(n: N, level: Level | TableLevel, bytes?: boolean): N;
export function levelBase(n: number, level: Level | TableLevel, bytes?: boolean): number;
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
export function tableKey(level: TableLevel, gfn: Gfn): string {
  return `${level}:${Math.floor(gfn / pagesAt(level))}`;
}

/** The guest frame a guest physical address falls in. */
export function gpaToGfn(gpa: Gpa): Gfn {
  return Math.floor(gpa / PAGE_SIZE) as Gfn;
}

/** Folio orders that the host allocator hands out. */
export type Order = 0 | 9 | 18;

declare const unit: unique symbol;

/**
 * A number tagged with what it counts: the tag exists for the type checker
 * only (at run time these are plain numbers), so that a guest frame cannot
 * be passed where a host frame is expected, nor a byte address where a frame
 * number is. Values get a tag only from the constructors and conversions
 * below.
 */
type Tagged<U extends string> = number & { readonly [unit]: U };

/** A host physical frame number (what the TDX module, the PAMT and guest_memfd's folios hold). */
export type Pfn = Tagged<'Pfn'>;
/** A guest frame number (memslots, attributes, KVM's MMU roots). */
export type Gfn = Tagged<'Gfn'>;
/** A guest physical byte address (the TDX module's operands, the S-EPT's keys). */
export type Gpa = Tagged<'Gpa'>;
/** A host physical byte address. */
export type Hpa = Tagged<'Hpa'>;

export const asPfn = (n: number): Pfn => n as Pfn;
export const asGfn = (n: number): Gfn => n as Gfn;
export const asGpa = (n: number): Gpa => n as Gpa;

/** The frame `n` frames after `p` (n may be negative). */
export const pfnAdd = (p: Pfn, n: number): Pfn => (p + n) as Pfn;
/** The guest frame `n` frames after `g` (n may be negative). */
export const gfnAdd = (g: Gfn, n: number): Gfn => (g + n) as Gfn;
/** The guest address `n` bytes after `a`. */
export const gpaAdd = (a: Gpa, n: number): Gpa => (a + n) as Gpa;

/** The guest frame of a raw uAPI GPA that a ladder has accepted (below 2^64, so exact after the shift). */
export const gfnOfUapiGpa = (gpa: bigint): Gfn => Number(gpa >> BigInt(PAGE_SHIFT)) as Gfn;

/** The GPA of the first byte of guest frame `g`. */
export const gfnToGpa = (g: Gfn): Gpa => (g * PAGE_SIZE) as Gpa;
/** The HPA of the first byte of host frame `p`. */
export const pfnToHpa = (p: Pfn): Hpa => (p * PAGE_SIZE) as Hpa;
/** The host frame an HPA falls in. */
export const hpaToPfn = (a: Hpa): Pfn => Math.floor(a / PAGE_SIZE) as Pfn;

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
