// Saving a found program: a signature for de-duplication (invariant,
// profile, bugs and the program normalised: canonical handles, no results or
// comments), a short hash of it for the file name, and an atomic write
// (temporary file, then rename) so a crash never leaves a truncated file.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { printProgram } from '../program/printer.js';
import type { Program } from '../program/types.js';

export function signature(p: Program, invariant: string, profile: string, bugs: readonly string[]): string {
  const body = printProgram({ headers: [], calls: p.calls.map((c) => ({ ...c, expect: undefined, comment: undefined, leading: undefined })) }, { noLeading: true });
  return `${invariant}\n${profile}\n${[...bugs].sort().join(',')}\n${body}`;
}

export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** Write `text` to `file` atomically: a temporary file in the same directory, then rename. */
export function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.tdxfuzz-tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export interface SavedFinding {
  file: string;
  /** False when a program with the same signature was already there. */
  isNew: boolean;
}

export function saveFinding(dir: string, p: Program, meta: { invariant: string; profile: string; bugs: readonly string[]; seed: number | string; path: string; message: string }): SavedFinding {
  const sig = signature(p, meta.invariant, meta.profile, meta.bugs);
  const file = join(dir, `${meta.invariant}-${shortHash(sig)}.prog`);
  if (existsSync(file)) return { file, isNew: false };
  const headers: Array<[string, string]> = [
    ['profile', meta.profile],
    ['bugs', meta.bugs.length ? meta.bugs.join(',') : 'none'],
    ['invariant', meta.invariant],
    ['found', `seed=${meta.seed} path=${meta.path}`],
    ['note', meta.message.replace(/\s+/g, ' ')],
  ];
  writeAtomic(file, printProgram({ headers, calls: p.calls }));
  return { file, isNew: true };
}
