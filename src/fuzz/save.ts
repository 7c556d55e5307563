// Saving a found program, one per signature: the invariant, the design
// (profile and bugs) and the shape of the shrunk program (its calls in order
// with the handles they pass, canonically named; argument values left out),
// so the same failure reached with other numbers is counted, not saved
// again. Every program already in the directory is compared, whatever its
// file name. The write is atomic (temporary file beside the target, then
// rename) so a crash never leaves a truncated file; a failed write removes
// its temporary file, and the next start removes those a killed process
// left behind.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { canonicalNames, printProgram } from '../program/printer.js';
import { parseProgram } from '../program/parser.js';
import { header, headerBugs, type Program } from '../program/types.js';

/** The shape of a program: each call with the (canonically named) handles and mappings it uses, no values. */
export function shape(p: Program): string {
  const names = canonicalNames(p);
  const rn = (n: string) => names.get(n) ?? n;
  return p.calls.map((c) => {
    const uses = Object.entries(c.args).filter(([, v]) => v.kind !== 'int').map(([k, v]) => `${k}=${rn((v as { name: string }).name)}`);
    return `${c.bind ? `${rn(c.bind)} = ` : ''}${c.op}(${[...c.handles.map(rn), ...uses].join(', ')})`;
  }).join('\n');
}

export function signature(p: Program, invariant: string, profile: string, bugs: readonly string[]): string {
  return `${invariant}\n${profile}\n${[...bugs].sort().join(',')}\n${shape(p)}`;
}

/** The file in `dir` whose program has signature `sig`, if any. */
function sameSignature(dir: string, sig: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.prog')).sort();
  } catch {
    return undefined;
  }
  for (const n of names) {
    let text: string;
    try {
      text = readFileSync(join(dir, n), 'utf8');
    } catch {
      continue;
    }
    const r = parseProgram(text, n);
    if (!r.ok) continue;
    const inv = header(r.program, 'invariant');
    if (inv && signature(r.program, inv, header(r.program, 'profile') ?? 'upstream', headerBugs(r.program)) === sig) return join(dir, n);
  }
  return undefined;
}

export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** A write that failed: the file and the reason, for a one-line message. */
export class WriteFailure extends Error {
  constructor(readonly file: string, readonly code: string) {
    super(`cannot write ${file}: ${describeCode(code)}`);
  }
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', EISDIR: 'is a directory', ENOTDIR: 'a parent is not a directory',
  ENOSPC: 'no space left on the device', EROFS: 'read-only file system', EEXIST: 'a parent is a file', ENOENT: 'no such directory', EDQUOT: 'disk quota exceeded',
};

export function describeCode(code: string): string {
  return REASONS[code] ? `${REASONS[code]} (${code})` : code;
}

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? String(e);

export const TMP_PREFIX = '.tdxfuzz-tmp-';

/** Write `text` to `file` atomically: a temporary file in the same directory, then rename. */
export function writeAtomic(file: string, text: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (e) {
    throw new WriteFailure(file, codeOf(e));
  }
  const tmp = join(dirname(file), `${TMP_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}-${basename(file)}`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw new WriteFailure(file, codeOf(e));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Remove the temporary files that processes no longer running left in `dir` (a kill -9 between write and rename). */
export function cleanTemps(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const m = new RegExp(`^${TMP_PREFIX.replace('.', '\\.')}(\\d+)-`).exec(name);
    if (!m || (Number(m[1]) !== process.pid && alive(Number(m[1])))) continue;
    try {
      unlinkSync(join(dir, name));
      n++;
    } catch { /* gone already */ }
  }
  return n;
}

export interface SavedFinding {
  file: string;
  /** False when a program with the same signature was already there. */
  isNew: boolean;
}

export function saveFinding(dir: string, p: Program, meta: { invariant: string; profile: string; bugs: readonly string[]; seed: number | string; path: string; message: string }): SavedFinding {
  const sig = signature(p, meta.invariant, meta.profile, meta.bugs);
  const twin = sameSignature(dir, sig);
  if (twin) return { file: twin, isNew: false };
  let file = join(dir, `${meta.invariant}-${shortHash(sig)}.prog`);
  // A different program under the same name (a file edited by hand): do not overwrite it.
  for (let k = 2; existsSync(file); k++) file = join(dir, `${meta.invariant}-${shortHash(sig)}-${k}.prog`);
  const headers: Array<[string, string]> = [
    ['profile', meta.profile],
    ['bugs', meta.bugs.length ? meta.bugs.join(',') : 'none'],
    ['invariant', meta.invariant],
    ['found', `seed=${meta.seed} path=${meta.path}`],
    // Lets `corpus check` tell a truncated file from a harness gone blind.
    ['calls', String(p.calls.length)],
    ['note', meta.message.replace(/\s+/g, ' ')],
  ];
  writeAtomic(file, printProgram({ headers, calls: p.calls }));
  return { file, isNew: true };
}
