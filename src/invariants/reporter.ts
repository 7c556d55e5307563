// How a check reports a violation, written once for every invariant.

import type { Violation } from './types.js';

/**
 * The function an invariant reports through: each message gets the
 * invariant's id and the prefix. A factory, so that the reporter a check
 * makes on every step is an unnamed closure: tsx keeps function names by
 * defining `name` on every named closure as it is created, which costs more
 * than most checks (about half a microsecond each). Past `limit` messages,
 * the rest are dropped.
 */
export const reporter = (out: Violation[], invariant: string, prefix: string, limit = Infinity) => (m: string): void => {
  if (out.length < limit) out.push({ invariant, message: prefix + m });
};
