// A sorted map of half-open ranges, written for the oracle so that it shares
// no code with the model: set, clear and look up a range of pages in the
// number of segments it meets, whatever the size of the guest.

export interface Seg<V> {
  start: number;
  end: number;
  value: V;
}

export class RangeMap<V> {
  segs: Seg<V>[] = [];

  /** Index of the first segment that ends after x. */
  private after(x: number): number {
    let lo = 0;
    let hi = this.segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.segs[mid].end <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(x: number): V | undefined {
    const s = this.segs[this.after(x)];
    return s !== undefined && s.start <= x ? s.value : undefined;
  }

  /** The parts of [start, end) that hold a value, clipped to it. */
  within(start: number, end: number): Seg<V>[] {
    const out: Seg<V>[] = [];
    for (let i = this.after(start); i < this.segs.length && this.segs[i].start < end; i++) {
      const s = this.segs[i];
      out.push({ start: Math.max(start, s.start), end: Math.min(end, s.end), value: s.value });
    }
    return out;
  }

  clear(start: number, end: number): void {
    if (start >= end) return;
    const i = this.after(start);
    let j = i;
    const rest: Seg<V>[] = [];
    for (; j < this.segs.length && this.segs[j].start < end; j++) {
      const s = this.segs[j];
      if (s.start < start) rest.push({ start: s.start, end: start, value: s.value });
      if (s.end > end) rest.push({ start: end, end: s.end, value: s.value });
    }
    this.segs.splice(i, j - i, ...rest);
  }

  set(start: number, end: number, value: V): void {
    if (start >= end) return;
    this.clear(start, end);
    let i = this.after(start);
    let s = start;
    let e = end;
    // Merge with equal neighbours so a uniform range stays one segment.
    const prev = this.segs[i - 1];
    if (prev !== undefined && prev.end === start && prev.value === value) {
      s = prev.start;
      this.segs.splice(i - 1, 1);
      i--;
    }
    const next = this.segs[i];
    if (next !== undefined && next.start === end && next.value === value) {
      e = next.end;
      this.segs.splice(i, 1);
    }
    this.segs.splice(i, 0, { start: s, end: e, value });
  }

  /** The first page of [start, end) that holds no value, if any. */
  firstGap(start: number, end: number): number | undefined {
    let cur = start;
    for (const s of this.within(start, end)) {
      if (s.start > cur) return cur;
      cur = s.end;
    }
    return cur < end ? cur : undefined;
  }

  /** Whether every page of [start, end) holds a value. */
  covers(start: number, end: number): boolean {
    return this.firstGap(start, end) === undefined;
  }
}
