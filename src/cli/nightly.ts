// `tdxfuzz nightly` (npm run nightly): what the nightly CI jobs run, and a
// local dry run of them. Fuzzes the sound profiles (or one, for a CI matrix
// cell) with a seed derived from the date, hunts every seeded bug, and
// writes a Markdown summary and a JUnit XML report.

import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { Coverage } from '../fuzz/coverage.js';
import { BUGS } from '../model/bugs.js';
import type { ProfileName } from '../model/profiles.js';
import { fuzz, shrinkFinding, type FuzzFinding } from '../fuzz/engine.js';
import { searchParallel } from '../fuzz/pool.js';
import { saveFinding, writeAtomic } from '../fuzz/save.js';
import { seedFrom } from '../fuzz/seed.js';
import { printProgram } from '../program/printer.js';
import { parseCount, parseSeconds, parseSeed } from './options.js';
import { parseShard, profilesOf } from './fuzz_options.js';
import { EXIT_FOUND, EXIT_OK } from './errors.js';
import { checkOutputDir } from './outputs.js';

export interface NightlyOptions {
  time?: string;
  seed?: string;
  profile?: string;
  shard?: string;
  out?: string;
  workers?: string;
  bugs?: boolean;
  fuzz?: boolean;
  bugRuns?: string;
}

interface Cell {
  name: string;
  profile: string;
  seconds: number;
  runs: number;
  calls: number;
  cps: number;
  finding?: FuzzFinding;
  file?: string;
  failure?: string;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function nightlyCommand(o: NightlyOptions, out: (s: string) => void): Promise<number> {
  const date = new Date().toISOString().slice(0, 10);
  const seedText = parseSeed('--seed', o.seed) ?? `nightly-${date}`;
  const seed = seedFrom(seedText);
  const time = parseSeconds('--time', o.time) ?? 60;
  const workers = parseCount('--workers', o.workers) ?? 1;
  const shard = parseShard(o.shard);
  const outDir = o.out ?? 'reports/nightly';
  checkOutputDir('--out', outDir);
  const bugRuns = parseCount('--bug-runs', o.bugRuns) ?? 5000;
  const doFuzz = o.fuzz !== false;
  const doBugs = o.bugs !== false;
  const profiles: ProfileName[] = profilesOf(o.profile ?? 'sound');
  out(`tdxfuzz nightly: seed ${seed} (from '${seedText}'), ${time}s over ${profiles.join(',')}${shard ? `, shard ${shard.index}/${shard.count}` : ''}, output in ${outDir}`);
  const cells: Cell[] = [];
  const coverage = new Coverage();
  const covFile = join(outDir, 'coverage.json');
  const previous = existsSync(covFile) ? JSON.parse(readFileSync(covFile, 'utf8')) as ReturnType<Coverage['toJSON']> : undefined;
  if (doFuzz) {
    for (const profile of profiles) {
      const seconds = time / profiles.length;
      const opts = { profile, bugs: [], seed, maxCalls: 40, shard, timeMs: seconds * 1000, coverage };
      const r = await searchParallel(opts, workers);
      const cell: Cell = { name: `fuzz ${profile}${shard ? ` shard ${shard.index}/${shard.count}` : ''}`, profile, seconds, runs: r.runs, calls: r.calls, cps: Math.round(r.calls / Math.max(0.001, r.elapsedMs / 1000)) };
      if (r.foundAt !== undefined) {
        const f = shrinkFinding({ ...opts, shrinkMs: 30_000 }, r.foundAt);
        cell.finding = f;
        cell.file = saveFinding(join(outDir, 'found'), f.program, { invariant: f.invariant, profile, bugs: [], seed: seedText, path: String(f.programIndex), message: f.message }).file;
        cell.failure = `${f.invariant}: ${f.message}`;
      }
      out(`${cell.name}: ${cell.runs} programs, ${cell.calls} calls, ${cell.cps} calls/s${cell.failure ? `, VIOLATION ${cell.failure}` : ''}`);
      cells.push(cell);
    }
  }
  if (doBugs) {
    for (const b of BUGS) {
      const profile = (b as { profile?: ProfileName }).profile ?? 'upstream';
      const t = Date.now();
      const r = fuzz({ profile, bugs: [b.name], want: b.invariant, seed, runs: bugRuns, maxCalls: 40, shrinkMs: 5000 });
      const cell: Cell = { name: `bug ${b.name}`, profile, seconds: (Date.now() - t) / 1000, runs: r.runs, calls: r.calls, cps: Math.round(r.calls / Math.max(0.001, r.elapsedMs / 1000)), finding: r.finding };
      if (!r.finding) cell.failure = `${b.name} was not found in ${r.runs} programs: the fuzzer can no longer trip ${b.invariant}`;
      out(`${cell.name}: ${r.finding ? `found in ${r.runs} programs, shrunk to ${r.finding.program.calls.length} calls` : 'NOT FOUND'}`);
      cells.push(cell);
    }
  }
  const md = summary(cells, seed, seedText, shard ? `${shard.index}/${shard.count}` : '1/1');
  const cov = doFuzz ? ['## State coverage', '', ...coverage.markdown(previous)].join('\n') : '';
  writeAtomic(join(outDir, 'summary.md'), `${md}${cov}`);
  if (doFuzz) writeAtomic(covFile, `${JSON.stringify(coverage.toJSON(), null, 1)}\n`);
  writeAtomic(join(outDir, 'junit.xml'), junit(cells));
  out(`wrote ${join(outDir, 'summary.md')} and ${join(outDir, 'junit.xml')}`);
  return cells.some((c) => c.failure) ? EXIT_FOUND : EXIT_OK;
}

function summary(cells: Cell[], seed: number, seedText: string, shard: string): string {
  const lines = [`# tdxfuzz nightly`, '', `Seed ${seed} (\`--seed ${seedText}\`), shard ${shard}.`, ''];
  const fuzzCells = cells.filter((c) => c.name.startsWith('fuzz'));
  if (fuzzCells.length) {
    lines.push('| profile | shard | seed | programs | calls | calls/s | findings |', '|---|---|---|---|---|---|---|');
    for (const c of fuzzCells) lines.push(`| ${c.profile} | ${shard} | ${seed} | ${c.runs} | ${c.calls} | ${c.cps} | ${c.finding ? c.finding.invariant : 'none'} |`);
    lines.push('');
    const byInv = new Map<string, Cell[]>();
    for (const c of fuzzCells) if (c.finding) byInv.set(c.finding.invariant, [...(byInv.get(c.finding.invariant) ?? []), c]);
    for (const [inv, cs] of byInv) {
      lines.push(`## ${inv}`, '');
      for (const c of cs) lines.push(`${c.profile}: ${c.finding!.message} (saved as \`${c.file}\`)`, '', '```', printProgram({ headers: [['profile', c.profile]], calls: c.finding!.program.calls }).trimEnd(), '```', '');
    }
  }
  const bugCells = cells.filter((c) => c.name.startsWith('bug'));
  if (bugCells.length) {
    lines.push('## Seeded bugs', '', '| bug | profile | found | programs | shrunk calls |', '|---|---|---|---|---|');
    for (const c of bugCells) lines.push(`| ${c.name.slice(4)} | ${c.profile} | ${c.finding ? 'yes' : '**no**'} | ${c.runs} | ${c.finding?.program.calls.length ?? '-'} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function junit(cells: Cell[]): string {
  const suites = [['tdxfuzz.fuzz', cells.filter((c) => c.name.startsWith('fuzz'))], ['tdxfuzz.bugs', cells.filter((c) => c.name.startsWith('bug'))]] as const;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites>'];
  for (const [name, cs] of suites) {
    const failures = cs.filter((c) => c.failure).length;
    out.push(`  <testsuite name="${name}" tests="${cs.length}" failures="${failures}" time="${cs.reduce((a, c) => a + c.seconds, 0).toFixed(1)}">`);
    for (const c of cs) {
      out.push(`    <testcase classname="${name}" name="${xml(c.name)}" time="${c.seconds.toFixed(1)}">`);
      if (c.failure) out.push(`      <failure message="${xml(c.failure)}">${xml(c.finding ? printProgram({ headers: [], calls: c.finding.program.calls }) : c.failure)}</failure>`);
      out.push(`      <system-out>${xml(`${c.runs} programs, ${c.calls} calls, ${c.cps} calls/s`)}</system-out>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
