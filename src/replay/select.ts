// Which profile and seeded bugs a run uses: names checked against the
// profiles and bugs of the model, and whether each bug can fire under the
// profile given. Shared by the commands and the corpus checks; a bad name or
// an impossible pairing is a UsageError.

import { BUGS, isBugName, type BugName } from '../model/bugs.js';
import { isProfileName, PROFILE_NAMES, PROFILES, type ProfileName, type ProfileSettings } from '../model/profiles.js';
import { UsageError } from '../errors.js';

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

/** The profile a seeded bug is hunted under (bugs.ts), upstream unless it names one. */
export function bugProfile(bug: BugName): ProfileName {
  return (BUGS.find((b) => b.name === bug) as { profile?: ProfileName }).profile ?? 'upstream';
}

/**
 * The settings a bug needs to fire at all. A bug that names a profile needs
 * that profile's departures from upstream unless a narrower need is listed.
 */
const NEEDS: Partial<Record<BugName, Partial<ProfileSettings>>> = {
  // The folio-based wrappers only differ on HugeTLB folios mapped 2 MiB at a time.
  'folio-wrappers': { hugetlb: true, hugeMappings: true },
};

export function bugNeeds(bug: BugName): Partial<ProfileSettings> {
  const listed = NEEDS[bug];
  if (listed) return listed;
  const home = PROFILES[bugProfile(bug)].settings;
  const base = PROFILES.upstream.settings as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.entries(home).filter(([k, v]) => base[k] !== v)) as Partial<ProfileSettings>;
}

/** Why `bug` cannot fire under `profile`, or undefined when it can. */
export function bugConflict(bug: BugName, profile: ProfileName): string | undefined {
  const have = PROFILES[profile].settings as unknown as Record<string, unknown>;
  const missing = Object.entries(bugNeeds(bug)).filter(([k, v]) => have[k] !== v);
  if (missing.length === 0) return undefined;
  return `--bug ${bug} cannot fire under profile ${profile}: it needs ${missing.map(([k, v]) => `${k}=${v}`).join(', ')} (try --profile ${bugProfile(bug)})`;
}

/**
 * The profiles a command runs: the ones given, or (none given) the profile
 * of the bugs; every bug must be able to fire under every profile.
 */
export function profilesForBugs(given: ProfileName[] | undefined, bugs: readonly BugName[]): { profiles: ProfileName[]; picked?: string } {
  let profiles = given;
  let picked: string | undefined;
  if (!profiles) {
    const homes = [...new Set(bugs.map(bugProfile))];
    const home = homes.find((h) => h !== 'upstream') ?? 'upstream';
    profiles = [home];
    if (home !== 'upstream') picked = `profile ${home} picked for --bug ${bugs.filter((b) => bugProfile(b) === home).join(',')}`;
  }
  for (const p of profiles) for (const b of bugs) {
    const why = bugConflict(b, p);
    if (why) throw new UsageError(why);
  }
  return { profiles, picked };
}
