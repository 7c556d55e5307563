// Reading program files: a missing file, a directory or a parse error is a
// usage error naming the file (and line and column), never a stack trace.

import { readFileSync, statSync } from 'node:fs';
import { parseProgram, formatParseError } from '../program/parser.js';
import type { Program } from '../program/types.js';
import { UsageError } from './errors.js';

export function readText(file: string): string {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UsageError(`${file}: no such file`);
  }
  if (st.isDirectory()) throw new UsageError(`${file}: is a directory, expected a program file`);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function loadProgram(file: string): Program {
  const r = parseProgram(readText(file), file);
  if (!r.ok) throw new UsageError(formatParseError(r.error));
  return r.program;
}
