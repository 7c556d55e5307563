// Output locations are checked before a run starts, so a long run never ends
// in a write error: the directory is created if missing, must be a directory,
// and must take a file (probed by writing one, which also catches read-only
// file systems where permission bits say yes). Temporary files that a killed
// run left behind are removed here too.

import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanTemps, describeCode, TMP_PREFIX } from '../fuzz/save.js';
import { UsageError } from './errors.js';

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? String(e);

function kind(path: string): 'dir' | 'file' | 'none' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'none';
  }
}

/** `dir` (a `flag`'s value) exists or can be made, and takes a new file. */
export function checkOutputDir(flag: string, dir: string): void {
  if (kind(dir) === 'file') throw new UsageError(`${flag} ${dir}: is a file, expected a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`${flag} ${dir}: cannot create the directory: ${describeCode(codeOf(e))}`);
  }
  const probe = join(dir, `${TMP_PREFIX}${process.pid}-probe`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    throw new UsageError(`${flag} ${dir}: cannot write there: ${describeCode(codeOf(e))}`);
  }
  cleanTemps(dir);
}

/** `file` (a `flag`'s value) is not a directory and its directory takes a new file. */
export function checkOutputFile(flag: string, file: string): void {
  if (kind(file) === 'dir') throw new UsageError(`${flag} ${file}: is a directory, expected a file`);
  checkOutputDir(flag, dirname(file));
}
