// Reading program files: a missing file, a directory, an oversized input or
// a parse error is a usage error naming the file (and line and column), never
// a stack trace. `-` reads standard input. Every file must start with the
// version line, so an empty or foreign file is not taken for an empty program.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parseProgram, formatParseError } from './parser.js';
import type { Program } from './types.js';
import { UsageError } from '../errors.js';

/** Programs are a few kilobytes; anything past this is not one (`replay /dev/zero`). */
export const MAX_PROGRAM_BYTES = 4 << 20;

/** Read at most MAX_PROGRAM_BYTES from a file descriptor; more is an error. */
function readBounded(fd: number, file: string): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(64 << 10);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_PROGRAM_BYTES) throw new UsageError(`${file}: larger than ${MAX_PROGRAM_BYTES >> 20} MiB, not a program`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function readText(file: string): string {
  if (file === '-') return readBounded(0, '<stdin>');
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new UsageError(`${file}: no such file`);
  }
  if (st.isDirectory()) throw new UsageError(`${file}: is a directory, expected a program file`);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return readBounded(fd, file);
  } finally {
    closeSync(fd);
  }
}

export function parseFile(text: string, file: string): Program {
  const r = parseProgram(text, file, { requireVersion: true });
  if (!r.ok) throw new UsageError(formatParseError(r.error));
  return r.program;
}

export function loadProgram(file: string): Program {
  return parseFile(readText(file), file === '-' ? '<stdin>' : file);
}
