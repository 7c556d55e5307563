// Parsing and validating the options every command shares: --profile,
// --bug (repeatable), numbers.

import { BUGS, isBugName, type BugName } from '../model/bugs.js';
import { isProfileName, PROFILE_NAMES, type ProfileName } from '../model/profiles.js';
import { UsageError } from './errors.js';

export function parseProfile(name: string | undefined, fallback: ProfileName = 'upstream'): ProfileName {
  if (name === undefined) return fallback;
  if (!isProfileName(name)) throw new UsageError(`unknown profile '${name}' (expected one of: ${PROFILE_NAMES.join(', ')})`);
  return name;
}

export function parseBugs(names: readonly string[] | undefined): BugName[] {
  const out: BugName[] = [];
  for (const raw of names ?? []) {
    for (const n of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      // Saved files say `# bugs: none`, so the command line accepts it too.
      if (n === 'none') continue;
      if (!isBugName(n)) throw new UsageError(`unknown bug '${n}' (see 'tdxfuzz profiles'; e.g. ${BUGS[0].name})`);
      if (!out.includes(n)) out.push(n);
    }
  }
  return out;
}

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
