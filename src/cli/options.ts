// Parsing and validating the options every command shares: numbers, seeds,
// --want. --profile and --bug are checked by src/replay/select.ts.

import { INVARIANT_IDS } from '../invariants/registry.js';
import { UsageError } from './errors.js';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A non-negative integer option; anything else is a usage error. */
export function parseCount(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} expects a non-negative integer, got '${value}'`);
  return Number(value);
}

/** A non-negative number of seconds (fractions allowed). */
export function parseSeconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${flag} expects a non-negative number of seconds, got '${value}'`);
  return Number(value);
}

/** `--want INVARIANT` (repeatable, or a comma list): names checked against the registry. */
export function parseWant(names: readonly string[] | undefined): string[] | undefined {
  const out = (names ?? []).flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean);
  for (const n of out) if (!INVARIANT_IDS.includes(n)) throw new UsageError(`unknown invariant '${n}' for --want (expected one of: ${INVARIANT_IDS.join(', ')})`);
  return out.length ? [...new Set(out)] : undefined;
}

/** `--seed`: any non-empty string (an empty one is a mistake, not a seed). */
export function parseSeed(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} expects a number or a non-empty string, got ''`);
  return value;
}
