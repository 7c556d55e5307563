// Interval maps over frame numbers: the model's answer to the kernel's xarray
// ranges. Setting, clearing or querying a 1 TiB range costs the number of
// segments it touches, never the number of pages in it.
//
// Segments are kept sorted and disjoint; neighbours holding equal values are
// merged so a uniform range stays one segment whatever history produced it.

export interface Segment<V> {
  start: number;
  /** Exclusive end. */
  end: number;
  value: V;
}

export interface IntervalMap<V> {
  segs: Segment<V>[];
}

export function newIntervalMap<V>(): IntervalMap<V> {
  return { segs: [] };
}

/** Index of the first segment whose end is > x. */
export function firstEndingAfter<V>(m: IntervalMap<V>, x: number): number {
  let lo = 0;
  let hi = m.segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (m.segs[mid].end <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function getAt<V>(m: IntervalMap<V>, x: number): V | undefined {
  const i = firstEndingAfter(m, x);
  const s = m.segs[i];
  return s && s.start <= x ? s.value : undefined;
}

export function segmentAt<V>(m: IntervalMap<V>, x: number): Segment<V> | undefined {
  const i = firstEndingAfter(m, x);
  const s = m.segs[i];
  return s && s.start <= x ? s : undefined;
}

/** The segments that intersect [start, end), clipped to it. */
export function segmentsIn<V>(m: IntervalMap<V>, start: number, end: number): Segment<V>[] {
  const out: Segment<V>[] = [];
  for (let i = firstEndingAfter(m, start); i < m.segs.length; i++) {
    const s = m.segs[i];
    if (s.start >= end) break;
    out.push({ start: Math.max(s.start, start), end: Math.min(s.end, end), value: s.value });
  }
  return out;
}

/** Remove [start, end) from the map, splitting segments that straddle its ends. */
export function clearRange<V>(m: IntervalMap<V>, start: number, end: number): void {
  if (start >= end) return;
  const i = firstEndingAfter(m, start);
  const keep: Segment<V>[] = [];
  let j = i;
  for (; j < m.segs.length; j++) {
    const s = m.segs[j];
    if (s.start >= end) break;
    if (s.start < start) keep.push({ start: s.start, end: start, value: s.value });
    if (s.end > end) keep.push({ start: end, end: s.end, value: s.value });
  }
  m.segs.splice(i, j - i, ...keep);
}

/**
 * Set [start, end) to `value`. `same` decides whether two neighbours may merge;
 * by default values merge when they are identical.
 */
export function setRange<V>(
  m: IntervalMap<V>, start: number, end: number, value: V,
  same: (a: V, b: V, gap: number) => boolean = (a, b) => a === b,
): void {
  if (start >= end) return;
  clearRange(m, start, end);
  let i = firstEndingAfter(m, start);
  let seg: Segment<V> = { start, end, value };
  const prev = m.segs[i - 1];
  if (prev && prev.end === start && same(prev.value, value, start - prev.start)) {
    seg = { start: prev.start, end, value: prev.value };
    m.segs.splice(i - 1, 1);
    i -= 1;
  }
  const next = m.segs[i];
  if (next && next.start === end && same(seg.value, next.value, end - seg.start)) {
    seg = { start: seg.start, end: next.end, value: seg.value };
    m.segs.splice(i, 1);
  }
  m.segs.splice(i, 0, seg);
}

/** True if every frame of [start, end) maps to a value satisfying `pred` (absent = undefined). */
export function everyIn<V>(
  m: IntervalMap<V>, start: number, end: number, pred: (v: V | undefined) => boolean,
): boolean {
  let cursor = start;
  for (const s of segmentsIn(m, start, end)) {
    if (s.start > cursor && !pred(undefined)) return false;
    if (!pred(s.value)) return false;
    cursor = s.end;
  }
  return cursor >= end || pred(undefined);
}

export function cloneIntervalMap<V>(m: IntervalMap<V>): IntervalMap<V> {
  return { segs: m.segs.map((s) => ({ ...s })) };
}
