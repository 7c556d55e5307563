// Long-term pins the host holds on guest_memfd pages, as the oracle sees
// them from HOST_PIN and HOST_UNPIN: a pin holds the page that was at its
// index when it was taken (pin_user_pages(FOLL_LONGTERM)), an unpin drops
// the newest pin taken at the same mapping offset (unpin_user_page()), and a
// punch hole takes the page out of the file, so a pin on it no longer keeps
// the index from converting. The in-place conversion to private refuses a
// range with a pinned page (its reference-count check, before the point of
// no return), which args.ts turns into a failure the call must meet.

import type { Pin, Place, RefState } from './state.js';

const key = (mapping: number, page: number) => `${mapping}:${page}`;

/** A pin taken through `mapping` at page `page`, on the page at `place` (an anonymous page holds nothing the oracle checks). */
export function pinTaken(ref: RefState, mapping: number, page: number, place: Place): void {
  const pin: Pin | null = place.kind === 'gmem' ? { gmem: place.gmem, index: place.index, live: true } : null;
  const k = key(mapping, page);
  const stack = ref.pins.get(k) ?? [];
  stack.push(pin);
  ref.pins.set(k, stack);
  if (!pin) return;
  const g = ref.gmems.get(pin.gmem);
  if (!g) return;
  const list = g.pins.get(pin.index) ?? [];
  list.push(pin);
  g.pins.set(pin.index, list);
}

/** An unpin that succeeded through `mapping` at page `page`: the newest pin taken there goes. */
export function pinDropped(ref: RefState, mapping: number, page: number): void {
  const pin = ref.pins.get(key(mapping, page))?.pop();
  if (!pin?.live) return;
  const list = ref.gmems.get(pin.gmem)?.pins.get(pin.index);
  const i = list?.indexOf(pin) ?? -1;
  if (list && i >= 0) list.splice(i, 1);
  if (list?.length === 0) ref.gmems.get(pin.gmem)!.pins.delete(pin.index);
}

/** A punch hole of indexes [start, end): the pinned pages leave the file, and their pins stop counting for it. */
export function pinsPunched(ref: RefState, gmem: number, start: number, end: number): void {
  const g = ref.gmems.get(gmem);
  if (!g) return;
  for (const [index, list] of g.pins) {
    if (index < start || index >= end) continue;
    for (const p of list) p.live = false;
    g.pins.delete(index);
  }
}

/** The lowest index of [start, end) of a guest_memfd holding a live pin, if any. */
export function firstPinned(ref: RefState, gmem: number, start: number, end: number): number | undefined {
  let best: number | undefined;
  for (const index of ref.gmems.get(gmem)?.pins.keys() ?? []) if (index >= start && index < end && (best === undefined || index < best)) best = index;
  return best;
}
