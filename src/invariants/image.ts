// The whole-state images errno-contract compares around a failed call: the
// runner takes one before each call (takeBefore()), the check one after. The
// image after a failed call is the state before the next step of the same
// world, so it is kept and handed back instead of being taken again.

import type { World } from '../model/world.js';
import type { Op } from '../program/calls.js';
import { stateImage, type StateImage } from './digest.js';

/**
 * Host loads and stores answer a byte, OK or SIGBUS and never an errno
 * (program-format.md): no fd is involved, so not even EBADF. Any errno from
 * them is a violation by itself, and the state before them is never needed.
 */
export const NEVER_ERRNO: ReadonlySet<Op> = new Set<Op>(['HOST_READ', 'HOST_WRITE']);

/** The last image taken after a failed call: the state before the next step of the same world, unless it has run. */
let lastAfter: { image: StateImage; step: object } | undefined;

/** The state image runStep takes before a call, or null for a call that cannot fail. */
export function imageBefore(w: World, op: Op): StateImage | null {
  if (NEVER_ERRNO.has(op)) return null;
  // Nothing runs between the check of one step and the snapshot of the next,
  // so the image taken after a failed call is still the state (same step record).
  if (lastAfter && lastAfter.step === w.step) return lastAfter.image;
  return stateImage(w, lastAfter?.image.slot === 0 ? 1 : 0);
}

/** The image after a failed call, in the other slot than the one before it; kept for the next step. */
export function imageAfter(w: World, before: StateImage, step: object): StateImage {
  const image = stateImage(w, before.slot === 0 ? 1 : 0);
  lastAfter = { image, step };
  return image;
}
