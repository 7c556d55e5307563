// Run one mutant: copy bin/, src/, docs/, executor/ and package.json into its own scratch directory
// inside the repository (so node_modules resolves), apply the mutant there,
// and run that copy's `tdxfuzz fuzz --json` as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutatedText, type Mutant } from './catalogue.js';

/** Scratch space for mutated copies; `.tdxfuzz-tmp-*` is ignored by git. */
export const SCRATCH = '.tdxfuzz-tmp-mutants';

export interface RunOptions {
  seed: string;
  runs: number;
  profile: string;
  timeoutMs: number;
  /** Where the mutated copy goes (default: SCRATCH under the root). */
  scratch?: string;
}

export type MutantStatus = 'caught' | 'survived' | 'timeout' | 'error';

export interface MutantResult {
  id: string;
  file: string;
  kind: string;
  status: MutantStatus;
  /** The invariant that caught it. */
  invariant?: string;
  message?: string;
  /** Profile the violation was found under. */
  profile?: string;
  /** Programs run before the finding, the finding included (all programs for a survivor). */
  programs?: number;
  /** Wall time of the fuzz run, shrinking of the finding included. */
  seconds: number;
  /** Why the run gave no answer (status error). */
  error?: string;
}

const live = new Set<ChildProcess>();

/** Kill every fuzz child still running (SIGINT of the campaign). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

function lastJson(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      // Not the summary line.
    }
  }
  return undefined;
}

export async function runMutant(root: string, m: Mutant, o: RunOptions): Promise<MutantResult> {
  const dir = join(o.scratch ?? join(root, SCRATCH), m.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const d of ['bin', 'src', 'docs', 'executor', 'package.json']) cpSync(join(root, d), join(dir, d), { recursive: true });
  writeFileSync(join(dir, m.file), mutatedText(root, m));
  const base = { id: m.id, file: m.file, kind: m.kind };
  const t0 = Date.now();
  const args = [join(dir, 'bin', 'tdxfuzz.mjs'), 'fuzz', '--profile', o.profile, '--seed', o.seed, '--runs', String(o.runs), '--json', '--corpus', join(dir, 'found')];
  try {
    const { code, stdout, stderr, timedOut } = await new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>((resolve) => {
      const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(child);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        live.delete(child);
        resolve({ code, stdout, stderr, timedOut });
      });
    });
    const seconds = (Date.now() - t0) / 1000;
    if (timedOut) return { ...base, status: 'timeout', seconds, error: `no answer within ${o.timeoutMs / 1000}s` };
    const j = lastJson(stdout);
    if (code === 1 && j?.status === 'violation') {
      return { ...base, status: 'caught', invariant: String(j.invariant), message: String(j.message), profile: String(j.profile), programs: Number(j.runs), seconds };
    }
    if (code === 0 && j?.status === 'ok') return { ...base, status: 'survived', programs: Number(j.runs), seconds };
    const tail = stderr.trim().split('\n').filter((l) => !l.startsWith('\r')).slice(-3).join(' | ');
    return { ...base, status: 'error', seconds, error: `fuzz exited ${code}: ${tail || 'no output'}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
