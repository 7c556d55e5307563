// Merging found corpora (from CI shards): one file per signature. A program
// whose signature is already present is counted, not copied again.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseFile, readText } from '../program/load.js';
import { header, headerBugs } from '../program/types.js';
import { saveFinding } from '../fuzz/save.js';
import { UsageError } from '../errors.js';

export interface MergeResult {
  added: string[];
  duplicates: number;
}

export function programFiles(dir: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UsageError(`${dir}: no such directory`);
  }
  if (!st.isDirectory()) throw new UsageError(`${dir}: not a directory`);
  return readdirSync(dir).filter((f) => f.endsWith('.prog')).sort().map((f) => join(dir, f));
}

export function mergeCorpora(dirs: string[], into: string): MergeResult {
  const out: MergeResult = { added: [], duplicates: 0 };
  for (const dir of dirs) {
    for (const file of programFiles(dir)) {
      const p = parseFile(readText(file), file);
      const invariant = header(p, 'invariant');
      if (!invariant) throw new UsageError(`${file}:1:1: a found program needs a '# invariant:' header`);
      const bugs = headerBugs(p);
      const found = /seed=(\S+)\s+path=(\S+)/.exec(header(p, 'found') ?? '');
      const saved = saveFinding(into, p, {
        invariant, profile: header(p, 'profile') ?? 'upstream', bugs,
        seed: found?.[1] ?? '?', path: found?.[2] ?? '?', message: header(p, 'note') ?? '',
      });
      if (saved.isNew) out.added.push(saved.file);
      else out.duplicates++;
    }
  }
  return out;
}
