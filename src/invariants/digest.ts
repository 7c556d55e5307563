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
// container carries its length, every object the id of its sequence of field
// names, and every value its type tag. A field of a part of the world that is
// itself a part (the TDX module's view of physical memory is the world's) is
// written as a reference to that part, so it costs nothing twice.

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
/**
 * Every object but a part of the world met as a field of another part is
 * written as a tree: a shared one is written at each reference (as
 * guest_memfd's page segments share their value object), which keeps the
 * image canonical, and a cycle shows as a thrown error. Looking every object
 * near the root up in a back-reference map cost a fifth of the walk; the
 * parts are a dozen, and a linear search of them costs less.
 */
const PART_DEPTH = 2;
const MAX_DEPTH = 48;

/**
 * Objects are written as a shape id and their field values. A shape is a
 * sequence of field names, interned in a trie as it is met (a field name
 * costs one pointer comparison when the previous object walked through that
 * node had the same next field, which is the common case: maps hold many
 * objects of one shape). The id names the whole sequence, so an image
 * carries no per-field name, and two objects with different fields or field
 * orders never share an id.
 */
interface Shape {
  id: number;
  /** The field names, in order, from the root of the trie to this node. */
  keys: string[];
  /** How often an object of exactly this shape was written, and its compiled writer once that is often. */
  uses: number;
  write: ShapeWriter | undefined;
  /** The last field seen after this one, and the shape it led to. */
  lastKey: string | undefined;
  lastNext: Shape | undefined;
  next: Map<string, Shape> | undefined;
}
let shapeCount = 0;
const newShape = (keys: string[]): Shape => ({ id: ++shapeCount, keys, uses: 0, write: undefined, lastKey: undefined, lastNext: undefined, next: undefined });
const EMPTY_SHAPE = newShape([]);

function nextShape(s: Shape, k: string): Shape {
  if (s.lastKey === k) return s.lastNext as Shape;
  let n = s.next?.get(k);
  if (n === undefined) {
    n = newShape([...s.keys, k]);
    (s.next ??= new Map()).set(k, n);
  }
  s.lastKey = k;
  s.lastNext = n;
  return n;
}

type ShapeWriter = (w: Writer, o: Record<string, unknown>, depth: number) => void;

/** A shape is compiled once this many objects of it were written. */
const COMPILE_AFTER = 4;

/**
 * A writer for the fields of one shape, each read by name: its loads see one
 * object layout only, where the generic loop's keyed loads see every layout
 * of the model. Numbers, booleans and strings are written in place; any
 * other value through Writer.value(), exactly as the generic loop does.
 */
function compile(keys: string[]): ShapeWriter | undefined {
  // An own field named __proto__ cannot be read by name; such a shape stays generic.
  if (keys.includes('__proto__')) return undefined;
  const body = keys.map((k, i) => `const v${i} = o[${JSON.stringify(k)}];
if (typeof v${i} === 'number') { w.push(${T.NUM}); w.push(v${i}); }
else if (typeof v${i} === 'boolean') w.push(v${i} ? ${T.TRUE} : ${T.FALSE});
else if (typeof v${i} === 'string') w.string(v${i});
else w.value(v${i}, d);`).join('\n');
  return new Function('w', 'o', 'd', body) as ShapeWriter;
}

/** Field names of the world's own parts, as the image's part headers. */
const keyIds = new Map<string, number>();
function keyId(k: string): number {
  let id = keyIds.get(k);
  if (id === undefined) keyIds.set(k, (id = keyIds.size + 1));
  return id;
}

/**
 * Writes one image into its buffer. There are two writers, each with its
 * buffer, reused for every image and grown when needed: allocating a typed
 * array (or a writer) per image costs more than the walk. An image lives in
 * its writer until that writer is used again.
 */
class Writer {
  buf = new Float64Array(1 << 14);
  n = 0;
  /** Bumped by each image written here, so a stale image is told from the current one. */
  generation = 0;
  /** The parts of the world written so far, in order: a field of a part that is one of them is written as its index. */
  readonly parts: unknown[] = [];
  /** Where each part of the world starts in the image, to name the parts that differ. */
  readonly partNames: string[] = [];
  readonly partStarts: number[] = [];
  /** The depth of the map being walked, for its entries (a field, so the callback is one function for every map). */
  private entryDepth = 0;

  reset(): void {
    this.n = 0;
    this.parts.length = 0;
    this.partNames.length = 0;
    this.partStarts.length = 0;
    this.generation++;
  }

  push(x: number): void {
    if (this.n === this.buf.length) this.grow();
    this.buf[this.n++] = x;
  }

  private grow(): void {
    const b = new Float64Array(this.buf.length * 2);
    b.set(this.buf);
    this.buf = b;
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

  value(v: unknown, depth: number): void {
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
      case 'bigint':
        this.bigint(v);
        return;
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

  /**
   * A value a double holds exactly is written as one number, without BigInt
   * arithmetic (which allocates); a larger one as its sign, then 32-bit limbs
   * of the magnitude, least significant first.
   */
  bigint(v: bigint): void {
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
  }

  private readonly mapEntry = (x: unknown, k: unknown): void => {
    const d = this.entryDepth;
    this.value(k, d);
    this.value(x, d);
    this.entryDepth = d;
  };

  private readonly setEntry = (x: unknown): void => {
    const d = this.entryDepth;
    this.value(x, d);
    this.entryDepth = d;
  };

  object(o: object, depth: number): void {
    if (depth > MAX_DEPTH) throw new Error('state image: object graph deeper than expected (a cycle?)');
    if (depth === PART_DEPTH) {
      const ref = this.parts.indexOf(o);
      if (ref >= 0) {
        this.push(T.REF);
        this.push(ref);
        return;
      }
    }
    const d = depth + 1;
    if (Array.isArray(o)) {
      this.push(T.ARR);
      this.push(o.length);
      for (let i = 0; i < o.length; i++) this.value(o[i], d);
      return;
    }
    if (o instanceof Map) {
      this.push(T.MAP);
      this.push(o.size);
      this.entryDepth = d;
      o.forEach(this.mapEntry);
      return;
    }
    if (o instanceof Set) {
      this.push(T.SET);
      this.push(o.size);
      this.entryDepth = d;
      o.forEach(this.setEntry);
      return;
    }
    // Own enumerable fields in their order, after the id of that sequence of
    // names. Model objects are plain data: no enumerable field is inherited.
    let shape = EMPTY_SHAPE;
    for (const k in o) shape = nextShape(shape, k);
    this.push(T.OBJ);
    this.push(shape.id);
    if (shape.write === undefined && ++shape.uses === COMPILE_AFTER) shape.write = compile(shape.keys);
    if (shape.write !== undefined) shape.write(this, o as Record<string, unknown>, d);
    else for (const k of shape.keys) this.value((o as Record<string, unknown>)[k], d);
  }
}

/**
 * The parts of the world that are state: everything but the per-call record,
 * the fixed configuration, and the counter that names internal objects (VM,
 * vCPU and memslot ids, HKIDs): a failed call may consume a name, as a kernel
 * error path frees what it allocated without a trace userspace can see.
 * Fd numbers and host addresses are visible, so their counters are state.
 */
const NOT_STATE: ReadonlySet<string> = new Set(['step', 'profile', 'bugs', 'nextId']);

const writers = [new Writer(), new Writer()] as const;

/** The canonical serialisation of a state, held in one of the two writers; two states are equal iff their images are. */
export interface StateImage {
  slot: 0 | 1;
  length: number;
  generation: number;
}

/** Serialise the state into the given writer (overwriting whatever image lived there). */
export function stateImage(w: World, slot: 0 | 1): StateImage {
  const out = writers[slot];
  out.reset();
  for (const name in w) {
    if (NOT_STATE.has(name)) continue;
    out.partNames.push(name);
    out.partStarts.push(out.n);
    out.push(keyId(name));
    const part = (w as unknown as Record<string, unknown>)[name];
    out.value(part, 1);
    out.parts.push(part);
  }
  return { slot, length: out.n, generation: out.generation };
}

/** The parts of the world (fds, vms, tdx, ...) whose images differ, in world order. */
export function changedParts(a: StateImage, b: StateImage): string[] {
  const x = view(a);
  const y = view(b);
  const wa = writers[a.slot];
  const wb = writers[b.slot];
  const out: string[] = [];
  const end = (w: Writer, img: StateImage, i: number) => (i + 1 < w.partStarts.length ? w.partStarts[i + 1] : img.length);
  for (let i = 0; i < Math.max(wa.partNames.length, wb.partNames.length); i++) {
    const na = wa.partNames[i];
    const nb = wb.partNames[i];
    if (na === undefined || nb === undefined || na !== nb) {
      out.push(na ?? nb);
      continue;
    }
    const sa = x.subarray(wa.partStarts[i], end(wa, a, i));
    const sb = y.subarray(wb.partStarts[i], end(wb, b, i));
    if (sa.length !== sb.length || sa.some((v, j) => v !== sb[j] && !(Number.isNaN(v) && Number.isNaN(sb[j])))) out.push(na);
  }
  return out;
}

export const imageValid = (a: StateImage): boolean => writers[a.slot].generation === a.generation;

function view(a: StateImage): Float64Array {
  if (!imageValid(a)) throw new Error('state image overwritten before use');
  return writers[a.slot].buf.subarray(0, a.length);
}

export function sameState(a: StateImage, b: StateImage): boolean {
  const x = view(a);
  const y = view(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return false;
  return true;
}
