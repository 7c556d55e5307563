// `tdxfuzz profiles [--json]`: the designs with their settings, and the
// seeded bugs with the invariant each must trip.

import { BUGS } from '../model/bugs.js';
import { PROFILE_NAMES, PROFILES } from '../model/profiles.js';
import { jsonLine } from './json.js';
import { bugNeeds, bugProfile } from '../replay/select.js';

export function profilesCommand(opts: { json?: boolean }, out: (s: string) => void): number {
  if (opts.json) {
    out(jsonLine({
      profiles: PROFILE_NAMES.map((n) => ({ name: n, sound: PROFILES[n].sound, settings: PROFILES[n].settings, description: PROFILES[n].description })),
      bugs: BUGS.map((b) => ({ name: b.name, invariant: b.invariant, profile: bugProfile(b.name), needs: bugNeeds(b.name), description: b.description })),
    }));
    return 0;
  }
  out('Profiles:');
  for (const n of PROFILE_NAMES) {
    const p = PROFILES[n];
    out(`  ${n}${p.settings.kernel ? '  (the model side of --target kernel, set from a probe)' : p.sound ? '' : '  (flawed design: trips invariants on purpose)'}`);
    out(`      ${p.description}`);
    out(`      ${Object.entries(p.settings).map(([k, v]) => `${k}=${typeof v === 'object' ? jsonLine(v) : v}`).join(' ')}`);
  }
  out('');
  out('Seeded bugs (--bug NAME):');
  const width = Math.max(...BUGS.map((b) => b.name.length));
  for (const b of BUGS) out(`  ${b.name.padEnd(width)}  trips ${b.invariant}${bugProfile(b.name) !== 'upstream' ? ` (profile ${bugProfile(b.name)})` : ''}: ${b.description}`);
  return 0;
}
