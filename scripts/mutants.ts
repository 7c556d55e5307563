// `npm run mutants`: the mutation campaign. Apply each mutant of
// mutants/catalogue.json to a scratch copy of the model, fuzz it with the
// sound profiles, and report which invariant caught it and after how many
// programs, then the catch rate and the survivors. Exit 0 when every mutant
// applied (whatever the rate), 2 when the catalogue is broken or a mutant no
// longer applies, 1 when a fuzz run itself failed.

import { Command, InvalidArgumentError } from 'commander';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalogue, whyNotApplies, type Mutant } from './mutants/catalogue.js';
import { killAll, runMutant, SCRATCH, type MutantResult } from './mutants/run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = join(ROOT, SCRATCH);

const count = (name: string, min: number) => (s: string): number => {
  if (!/^\d+$/.test(s) || Number(s) < min) throw new InvalidArgumentError(`${name} expects an integer of at least ${min}, got '${s}'`);
  return Number(s);
};

const program = new Command('mutants')
  .description('apply each mutant of mutants/catalogue.json to a copy of src/model and fuzz it')
  .option('--only <ids>', 'comma-separated mutant ids to run (default: all)')
  .option('--runs <n>', 'program budget per mutant, shared by the profiles', count('--runs', 1), 20000)
  .option('--jobs <n>', 'mutants fuzzed at the same time', count('--jobs', 1), 2)
  .option('--seed <seed>', 'fuzz seed', '1')
  .option('--profile <p>', 'profile or "sound"', 'sound')
  .option('--timeout <s>', 'seconds before a fuzz run is abandoned', count('--timeout', 1), 900)
  .option('--json', 'one JSON line per mutant, then a summary line')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

const o = program.parse().opts<{ only?: string; runs: number; jobs: number; seed: string; profile: string; timeout: number; json?: boolean }>();
const say = (s: string) => (o.json ? process.stderr : process.stdout).write(`${s}\n`);

function cleanup(): void {
  rmSync(scratch, { recursive: true, force: true });
}

const { mutants, problems } = loadCatalogue(ROOT);
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`mutants: ${p}\n`);
  process.exit(2);
}
let chosen: Mutant[] = mutants;
if (o.only) {
  const ids = o.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !mutants.some((m) => m.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`mutants: --only: no mutant named ${unknown.join(', ')} in mutants/catalogue.json\n`);
    process.exit(2);
  }
  chosen = mutants.filter((m) => ids.includes(m.id));
}
const notApplying = chosen.map((m) => ({ m, why: whyNotApplies(ROOT, m) })).filter((x) => x.why !== null);
for (const { m, why } of notApplying) say(`does not apply  ${m.id}: ${why}`);
const runnable = chosen.filter((m) => !notApplying.some((x) => x.m === m));

cleanup();
let interrupted = false;
const onSignal = () => {
  interrupted = true;
  killAll();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', cleanup);

say(`mutants: ${runnable.length} of ${chosen.length} mutants, profile ${o.profile}, seed ${o.seed}, ${o.runs} programs each, ${o.jobs} job(s)`);
const results = new Map<string, MutantResult>();
const line = (r: MutantResult) => {
  const what = r.status === 'caught' ? `${r.invariant} (${r.profile})` : r.error ?? '';
  const progs = r.programs !== undefined ? `${r.programs} programs` : '';
  return `${r.status.padEnd(8)}  ${r.id.padEnd(34)}  ${what.padEnd(36)}  ${progs.padStart(15)}  ${r.seconds.toFixed(1).padStart(6)}s`;
};
let next = 0;
async function worker(): Promise<void> {
  while (next < runnable.length && !interrupted) {
    const m = runnable[next++];
    const r = await runMutant(ROOT, m, { seed: o.seed, runs: o.runs, profile: o.profile, timeoutMs: o.timeout * 1000 });
    if (interrupted) return;
    results.set(m.id, r);
    say(line(r));
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  }
}
await Promise.all(Array.from({ length: Math.min(o.jobs, runnable.length) }, worker));
if (interrupted) {
  say('mutants: interrupted');
  process.exit(130);
}

const all = runnable.map((m) => results.get(m.id)!);
const caught = all.filter((r) => r.status === 'caught');
const survivors = all.filter((r) => r.status !== 'caught');
const rate = all.length === 0 ? 0 : caught.length / all.length;
say('');
say(`catch rate: ${caught.length} of ${all.length} (${(100 * rate).toFixed(1)}%)${notApplying.length ? `; ${notApplying.length} mutant(s) do not apply` : ''}`);
const byInv = new Map<string, number>();
for (const r of caught) byInv.set(r.invariant!, (byInv.get(r.invariant!) ?? 0) + 1);
say(`caught by: ${[...byInv].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing'}`);
say(`survivors: ${survivors.map((r) => `${r.id}${r.status === 'survived' ? '' : ` (${r.status})`}`).join(', ') || 'none'}`);
if (o.json) {
  process.stdout.write(`${JSON.stringify({ summary: true, mutants: all.length, caught: caught.length, rate, survivors: survivors.map((r) => r.id), notApplying: notApplying.map((x) => x.m.id), runs: o.runs, seed: o.seed, profile: o.profile })}\n`);
}
process.exitCode = notApplying.length > 0 ? 2 : all.some((r) => r.status === 'error') ? 1 : 0;
