// What an export pins. A finding's design (a flawed profile, or seeded bugs)
// answers some calls the way the bug does; a reproducer that pinned those
// answers would fail on a correct kernel and pass on a buggy one. So an
// export pins what the sound design the finding's design departs from
// returns (same profile's sound counterpart, no seeded bugs), and names the
// steps where the finding's design answers differently; `--pin flawed` pins
// the finding's answers instead.

import { runProgram } from '../fuzz/runner.js';
import { soundCounterpart, type ProfileName } from '../model/profiles.js';
import type { BugName } from '../model/bugs.js';
import type { Program, Result } from '../program/types.js';
import type { ExportPins } from './c.js';

export type PinChoice = 'sound' | 'flawed';

const label = (profile: ProfileName, bugs: readonly BugName[]) => `${profile}${bugs.length ? ` with ${bugs.join(', ')}` : ', no seeded bugs'}`;

export function exportPins(p: Program, design: { profile: ProfileName; bugs: readonly BugName[] }, choice: PinChoice = 'sound'): { results: Result[]; pins: ExportPins } {
  const results = (profile: ProfileName, bugs: readonly BugName[]) => runProgram(p, { profile, bugs, noInvariants: true }).steps.map((s) => s.result);
  const sound = soundCounterpart(design.profile);
  const flawed = design.bugs.length > 0 || sound !== design.profile;
  const soundLabel = `the sound design (${label(sound, [])})`;
  const flawedLabel = `the finding's design (${label(design.profile, design.bugs)})`;
  if (!flawed) return { results: results(sound, []), pins: { pinned: soundLabel } };
  const r = { sound: results(sound, []), flawed: results(design.profile, design.bugs) };
  return choice === 'sound'
    ? { results: r.sound, pins: { pinned: soundLabel, other: { label: flawedLabel, results: r.flawed } } }
    : { results: r.flawed, pins: { pinned: flawedLabel, other: { label: soundLabel, results: r.sound } } };
}
