// An exact image of the whole model state, for errno-contract: a failed call
// must leave it unchanged. The state is walked generically (so a field added
// to any model object is covered without touching this file) and written as
// numbers into a reusable buffer; two images are compared number by number,
// which no hash can beat for collision resistance and which costs less than
// hashing them.
//
// The walk is canonical for a given state: objects, Maps and Sets are written
// in their own iteration (insertion) order, which is itself part of the
// state (it decides, for example, which leaf a zap meets first), every
// container carries its length and every field its interned name, and a
// second reference to an object already written is written as a back
// reference, so shared objects (the TDX module's view of physical memory)
// cost nothing twice and cannot alias.

import type { World } from '../model/world.js';

const T = { UNDEF: 1, NULL: 2, FALSE: 3, TRUE: 4, NUM: 5, BIG: 6, STR: 7, CHARS: 8, ARR: 9, MAP: 10, SET: 11, OBJ: 12, REF: 13, BIGLIMBS: 14 } as const;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Field names and short strings (states, kinds, table keys), interned once
 * per process: images are only ever compared within one. The table is
 * bounded; past the bound a string is written character by character.
 */
const interned = new Map<string, number>();
const INTERN_MAX = 1 << 16;
/** Objects deeper than this are assumed to form a tree (no sharing); a cycle shows as a thrown error. */
const SHARE_DEPTH = 3;
const MAX_DEPTH = 48;

/** How a map entry is written: as the current flat shape, as a new flat shape, or generically. */
const F = { SAME: 1, SHAPE: 2, GENERIC: 3 } as const;
const TYPE_CODE: Record<string, number> = { number: 1, boolean: 2, string: 3, undefined: 4 };

/** The shape of an object whose fields are all numbers, booleans, strings or undefined; undefined otherwise. */
function flatShape(x: object): { keys: string[]; types: string[] } | undefined {
  if (Array.isArray(x) || x instanceof Map || x instanceof Set) return undefined;
  const keys: string[] = [];
  const types: string[] = [];
  for (const k in x) {
    const t = typeof (x as Record<string, unknown>)[k];
    if (TYPE_CODE[t] === undefined) return undefined;
    keys.push(k);
    types.push(t);
  }
  return keys.length > 0 ? { keys, types } : undefined;
}

/** Field names get their own ids (a field name is never confused with a string value: it has no tag). */
const keyIds: Record<string, number> = Object.create(null) as Record<string, number>;
let keyCount = 0;
function keyId(k: string): number {
  const id = keyIds[k];
  return id !== undefined ? id : (keyIds[k] = ++keyCount);
}

/**
 * Two buffers, reused for every image and grown when needed: allocating a
 * typed array per image costs more than the walk. An image lives in one of
 * them until that buffer is written again.
 */
const buffers = [new Float64Array(1 << 14), new Float64Array(1 << 14)];
const generation = [0, 0];

export class Writer {
  buf: Float64Array;
  n = 0;
  seen = new Map<object, number>();

  constructor(readonly slot: 0 | 1) {
    this.buf = buffers[slot];
  }

  push(x: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = buffers[this.slot] = b;
    }
    this.buf[this.n++] = x;
  }

  string(v: string): void {
    let id = interned.get(v);
    if (id === undefined && interned.size < INTERN_MAX && v.length <= 32) interned.set(v, (id = interned.size + 1));
    if (id !== undefined) {
      this.push(T.STR);
      this.push(id);
      return;
    }
    this.push(T.CHARS);
    this.push(v.length);
    for (let i = 0; i < v.length; i++) this.push(v.charCodeAt(i));
  }

  value(v: unknown, depth = 0): void {
    switch (typeof v) {
      case 'number':
        this.push(T.NUM);
        this.push(v);
        return;
      case 'boolean':
        this.push(v ? T.TRUE : T.FALSE);
        return;
      case 'string':
        this.string(v);
        return;
      case 'bigint': {
        // A value a double holds exactly is written as one number, without
        // BigInt arithmetic (which allocates); a larger one as its sign, then
        // 32-bit limbs of the magnitude, least significant first.
        if (v <= SAFE && v >= -SAFE) {
          this.push(T.BIG);
          this.push(Number(v));
          return;
        }
        let m = v < 0n ? -v : v;
        this.push(T.BIGLIMBS);
        this.push(v < 0n ? -1 : 1);
        do {
          this.push(Number(m & 0xffffffffn));
          m >>= 32n;
        } while (m > 0n);
        this.push(-1);
        return;
      }
      case 'undefined':
        this.push(T.UNDEF);
        return;
      case 'object':
        if (v === null) this.push(T.NULL);
        else this.object(v, depth);
        return;
      default:
        // Functions and symbols are not state.
        this.push(T.UNDEF);
    }
  }

  /** Field names and types of the flat objects of the map being written, and where its next entry must match them. */
  shape: { keys: string[]; types: string[] } | undefined;

  /**
   * A map value. Maps hold many objects of one shape (SPTEs, S-EPT leaves,
   * PAMT entries) whose fields are all numbers, booleans or strings: such an
   * entry is written as its field values only, after a header naming the
   * fields and their types whenever the shape changes, which keeps the image
   * unambiguous at a third of the size.
   */
  entry(x: unknown, depth: number): void {
    const shape = this.shape;
    if (shape && typeof x === 'object' && x !== null && this.matches(x, shape)) {
      this.push(F.SAME);
      this.flat(x, shape);
      return;
    }
    const next = typeof x === 'object' && x !== null ? flatShape(x) : undefined;
    if (!next) {
      this.push(F.GENERIC);
      this.value(x, depth);
      return;
    }
    this.shape = next;
    this.push(F.SHAPE);
    this.push(next.keys.length);
    for (let i = 0; i < next.keys.length; i++) {
      this.push(keyId(next.keys[i]));
      this.push(TYPE_CODE[next.types[i]]);
    }
    this.flat(x as object, next);
  }

  matches(x: object, shape: { keys: string[]; types: string[] }): boolean {
    let i = 0;
    for (const k in x) {
      if (k !== shape.keys[i] || typeof (x as Record<string, unknown>)[k] !== shape.types[i]) return false;
      i++;
    }
    return i === shape.keys.length;
  }

  flat(x: object, shape: { keys: string[]; types: string[] }): void {
    const r = x as Record<string, unknown>;
    for (let i = 0; i < shape.keys.length; i++) {
      const v = r[shape.keys[i]];
      if (typeof v === 'number') this.push(v);
      else if (typeof v === 'boolean') this.push(v ? 1 : 0);
      else if (typeof v === 'string') this.string(v);
      else this.push(0);
    }
  }

  object(o: object, depth: number): void {
    if (depth > MAX_DEPTH) throw new Error('state image: object graph deeper than expected (a cycle?)');
    if (depth <= SHARE_DEPTH) {
      const ref = this.seen.get(o);
      if (ref !== undefined) {
        this.push(T.REF);
        this.push(ref);
        return;
      }
      this.seen.set(o, this.seen.size);
    }
    const d = depth + 1;
    if (Array.isArray(o)) {
      this.push(T.ARR);
      this.push(o.length);
      for (let i = 0; i < o.length; i++) this.value(o[i], d);
    } else if (o instanceof Map) {
      this.push(T.MAP);
      this.push(o.size);
      const outer = this.shape;
      this.shape = undefined;
      o.forEach((x, k) => {
        this.value(k, d);
        this.entry(x, d);
      });
      this.shape = outer;
    } else if (o instanceof Set) {
      this.push(T.SET);
      this.push(o.size);
      o.forEach((x) => this.value(x, d));
    } else {
      // Own enumerable fields in their order; the count goes in front once known.
      this.push(T.OBJ);
      const at = this.n;
      this.push(0);
      let count = 0;
      // Model objects are plain data: no enumerable field is inherited.
      for (const k in o) {
        this.push(keyId(k));
        this.value((o as Record<string, unknown>)[k], d);
        count++;
      }
      this.buf[at] = count;
    }
  }
}

/**
 * The parts of the world that are state: everything but the per-call record,
 * the fixed configuration, and the counter that names internal objects (VM,
 * vCPU and memslot ids, HKIDs): a failed call may consume a name, as a kernel
 * error path frees what it allocated without a trace userspace can see.
 * Fd numbers and host addresses are visible, so their counters are state.
 */
function stateOf(w: World): unknown[] {
  const { step: _step, profile: _profile, bugs: _bugs, nextId: _nextId, ...rest } = w;
  return Object.entries(rest);
}

/** The canonical serialisation of a state, held in one of the two buffers; two states are equal iff their images are. */
export interface StateImage {
  slot: 0 | 1;
  length: number;
  generation: number;
  /** Where each part of the world starts in the image, to name the first part that differs. */
  parts: Array<[string, number]>;
}

/** Serialise the state into the given buffer (overwriting whatever image lived there). */
export function stateImage(w: World, slot: 0 | 1): StateImage {
  const out = new Writer(slot);
  const parts: Array<[string, number]> = [];
  for (const [name, part] of stateOf(w) as Array<[string, unknown]>) {
    parts.push([name, out.n]);
    out.push(keyId(name));
    out.value(part, 1);
  }
  return { slot, length: out.n, generation: ++generation[slot], parts };
}

/** The parts of the world (fds, vms, tdx, ...) whose images differ, in world order. */
export function changedParts(a: StateImage, b: StateImage): string[] {
  const x = view(a);
  const y = view(b);
  const out: string[] = [];
  const end = (img: StateImage, i: number) => (i + 1 < img.parts.length ? img.parts[i + 1][1] : img.length);
  for (let i = 0; i < Math.max(a.parts.length, b.parts.length); i++) {
    const pa = a.parts[i];
    const pb = b.parts[i];
    if (!pa || !pb || pa[0] !== pb[0]) {
      out.push((pa ?? pb)[0]);
      continue;
    }
    const sa = x.subarray(pa[1], end(a, i));
    const sb = y.subarray(pb[1], end(b, i));
    if (sa.length !== sb.length || sa.some((v, j) => v !== sb[j] && !(Number.isNaN(v) && Number.isNaN(sb[j])))) out.push(pa[0]);
  }
  return out;
}

export const imageValid = (a: StateImage): boolean => generation[a.slot] === a.generation;

function view(a: StateImage): Float64Array {
  if (!imageValid(a)) throw new Error('state image overwritten before use');
  return buffers[a.slot].subarray(0, a.length);
}

export function sameState(a: StateImage, b: StateImage): boolean {
  const x = view(a);
  const y = view(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return false;
  return true;
}
