// README examples are what the commands print today. Each example is a
// block between `<!-- example: ARGS [| between "RE" "RE"] -->` and
// `<!-- /example -->`; this script runs `tdxfuzz ARGS` in a scratch copy of
// the corpus (so nothing in the repository is written) and puts its stdout
// in the block. `npx tsx scripts/readme-examples.ts` rewrites README.md;
// `--check` exits 1 if any example has drifted. Timings are the only part
// allowed to differ (see normalise()).

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'tdxfuzz.mjs');
const BLOCK = /<!-- example: (.+?) -->\n(```[a-z]*)\n([\s\S]*?)```\n<!-- \/example -->/g;

export interface Example {
  spec: string;
  fence: string;
  current: string;
}

export function examples(readme: string): Example[] {
  return [...readme.matchAll(BLOCK)].map((m) => ({ spec: m[1], fence: m[2], current: m[3] }));
}

/** Durations and rates change from run to run; everything else must match. */
export function normalise(s: string): string {
  return s.replace(/\b\d+(\.\d+)? ?s\b/g, 'Ts').replace(/\b\d+ calls\/s/g, 'R calls/s');
}

function filter(out: string, spec: string): string {
  const b = /^between "(.*)" "(.*)"$/.exec(spec.trim());
  if (!b) throw new Error(`unknown example filter '${spec}'`);
  const lines = out.split('\n');
  const from = lines.findIndex((l) => new RegExp(b[1]).test(l));
  const to = lines.findIndex((l, i) => i >= from && new RegExp(b[2]).test(l));
  if (from < 0 || to < 0) throw new Error(`example filter '${spec}' matches nothing`);
  return `${lines.slice(from, to + 1).join('\n')}\n`;
}

/** Run one example in a scratch directory holding a copy of corpus/. */
export function run(spec: string): string {
  const [args, ...filters] = spec.split(' | ');
  const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-readme-'));
  try {
    cpSync(join(root, 'corpus'), join(dir, 'corpus'), { recursive: true });
    const r = spawnSync(process.execPath, [bin, ...args.trim().split(/\s+/)], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`tdxfuzz ${args}: exit ${r.status}: ${r.stderr}`);
    return filters.reduce((out, f) => filter(out, f), r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function regenerate(readme: string): string {
  return readme.replace(BLOCK, (_m, spec: string, fence: string) => `<!-- example: ${spec} -->\n${fence}\n${run(spec)}\`\`\`\n<!-- /example -->`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const file = join(root, 'README.md');
  const text = readFileSync(file, 'utf8');
  const fresh = regenerate(text);
  if (process.argv.includes('--check')) {
    const drift = examples(text).filter((e, i) => normalise(e.current) !== normalise(examples(fresh)[i].current));
    for (const e of drift) process.stderr.write(`README example has drifted: tdxfuzz ${e.spec}\n`);
    process.exitCode = drift.length ? 1 : 0;
  } else {
    writeFileSync(file, fresh);
    process.stdout.write(`${examples(fresh).length} README examples regenerated\n`);
  }
}
