// Checking a corpus program. A spec program (no `# invariant:` header) must
// meet every expectation with no violation. A found program must still trip
// its invariant under the profile and bugs it was found with (the harness has
// not gone blind) and must pass with the bugs removed, under the sound design
// its profile departs from (the model is sound there).

import { replayProgram } from '../replay/replay.js';
import { header, headerBugs, type Program } from '../program/types.js';
import { parseBugs, parseProfile } from '../replay/select.js';
import { soundCounterpart } from '../model/profiles.js';
import { runProgram } from '../fuzz/runner.js';

export interface CorpusVerdict {
  kind: 'spec' | 'found';
  ok: boolean;
  detail: string;
}

/** Why a found file looks cut short, if it does: then the file, not the harness, is to blame. */
export function truncation(p: Program, text?: string): string | undefined {
  if (text !== undefined && text.length > 0 && !text.endsWith('\n')) return 'it ends in the middle of a line';
  const n = Number(header(p, 'calls'));
  if (Number.isInteger(n) && n > p.calls.length) return `its '# calls: ${n}' header promises ${n} calls and it has ${p.calls.length}`;
  const last = p.calls.at(-1);
  if (last && !last.expect && p.calls.some((c) => c.expect)) return 'its last call has no pinned result, unlike the others';
  return undefined;
}

export function checkProgram(p: Program, text?: string): CorpusVerdict {
  const invariant = header(p, 'invariant');
  if (!invariant) {
    const r = replayProgram(p, {});
    const ok = r.mismatches.length === 0 && r.report.violations.length === 0;
    return {
      kind: 'spec', ok,
      detail: ok ? `${r.report.steps.length} calls, every expectation met`
        : `${r.mismatches.length} expectation(s) failed${r.mismatches.length ? ` (first at call ${r.mismatches[0]})` : ''}, ${r.report.violations.length} violation(s)${r.report.violations[0] ? `: ${r.report.violations[0].invariant}` : ''}`,
    };
  }
  const profile = parseProfile(header(p, 'profile'));
  const bugs = parseBugs(headerBugs(p));
  const withBug = runProgram(p, { profile, bugs });
  if (!withBug.violations.some((v) => v.invariant === invariant)) {
    const cut = truncation(p, text);
    if (cut) return { kind: 'found', ok: false, detail: `the file is truncated (${cut}), so it no longer reaches ${invariant}: restore it, or re-run the search its '# found:' header names` };
    return { kind: 'found', ok: false, detail: `no longer trips ${invariant} under ${profile}${bugs.length ? ` with ${bugs.join(',')}` : ''}: the harness has gone blind to it` };
  }
  const sound = soundCounterpart(profile);
  const clean = runProgram(p, { profile: sound, bugs: [] });
  if (clean.violations.length > 0) {
    const v = clean.violations[0];
    return { kind: 'found', ok: false, detail: `still violates ${v.invariant} under ${sound} without bugs: ${v.message}` };
  }
  return { kind: 'found', ok: true, detail: `trips ${invariant} under ${profile}${bugs.length ? `+${bugs.join(',')}` : ''}; clean under ${sound}` };
}
