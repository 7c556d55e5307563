// Running one program as written: the profile and bugs it asks for (the
// caller's choice first, then its headers), a fresh model, and every pinned
// result compared with what the model returned. The replay command and the
// corpus checks both run programs this way.

import { header, headerBugs, type Program } from '../program/types.js';
import { runProgram, type RunReport } from '../fuzz/runner.js';
import { sameResult } from '../model/result.js';
import type { BugName } from '../model/bugs.js';
import type { ProfileName } from '../model/profiles.js';
import { programNames, type Renamer } from '../report/names.js';
import { parseBugs, parseProfile, profilesForBugs } from './select.js';

/** What a caller may impose on a program: a profile and bugs, over its headers. */
export interface SetupOptions {
  profile?: string;
  bug?: string[];
}

export interface ReplayOutcome {
  report: RunReport;
  /** Model object names to the program's handle names, for messages. */
  rename: Renamer;
  mismatches: number[];
  profile: ProfileName;
  bugs: BugName[];
}

/** The profile and bugs a program runs under: the caller's options win over its headers. */
export function programSetup(p: Program, opts: SetupOptions): { profile: ProfileName; bugs: BugName[] } {
  const bugs = opts.bug && opts.bug.length > 0 ? parseBugs(opts.bug) : parseBugs(headerBugs(p));
  const named = opts.profile ?? header(p, 'profile');
  // No profile named anywhere: the bugs' own profile; a bug that cannot fire is an error.
  const profile = profilesForBugs(named === undefined ? undefined : [parseProfile(named)], bugs).profiles[0];
  return { profile, bugs };
}

export function replayProgram(p: Program, opts: SetupOptions): ReplayOutcome {
  const { profile, bugs } = programSetup(p, opts);
  const report = runProgram(p, { profile, bugs });
  const mismatches = report.steps.filter((s) => s.call.expect && !sameResult(s.call.expect, s.result)).map((s) => s.index);
  const rename = report.violations.length > 0 ? programNames(p, { profile, bugs }) : (s: string) => s;
  return { report, mismatches, profile, bugs, rename };
}
