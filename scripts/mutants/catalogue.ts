// The mutant catalogue (mutants/catalogue.json): realistic one-place bugs
// written against src/model, each a text substitution that must match exactly
// once, so a mutant the model has outgrown is reported, never skipped.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Mutant {
  id: string;
  /** Path from the repository root, always under src/model/. */
  file: string;
  /** Kind of bug (range-end, index-base, loop-first-only, ...). */
  kind: string;
  /** Text that must occur exactly once in `file`... */
  find: string;
  /** ...and what replaces it. */
  replace: string;
  description: string;
}

export const CATALOGUE = join('mutants', 'catalogue.json');

/** The folder of the model a file belongs to: gmem, host, ..., or "." for top-level files. */
export function modelFolder(file: string): string {
  const rest = file.replace(/^src\/model\//, '');
  return rest.includes('/') ? rest.split('/')[0] : '.';
}

/** Count non-overlapping occurrences of `needle` in `hay`. */
export function occurrences(hay: string, needle: string): number {
  if (needle === '') return 0;
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Read the catalogue; a malformed one (not an array, missing fields, duplicate ids) is a list of problems. */
export function loadCatalogue(root: string): { mutants: Mutant[]; problems: string[] } {
  const path = join(root, CATALOGUE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return { mutants: [], problems: [`${CATALOGUE}: ${e instanceof Error ? e.message : String(e)}`] };
  }
  if (!Array.isArray(raw)) return { mutants: [], problems: [`${CATALOGUE}: expected an array of mutants`] };
  const problems: string[] = [];
  const seen = new Set<string>();
  const mutants: Mutant[] = [];
  raw.forEach((m: Record<string, unknown>, i) => {
    const where = `${CATALOGUE}: entry ${i}${typeof m?.id === 'string' ? ` (${m.id})` : ''}`;
    for (const k of ['id', 'file', 'kind', 'find', 'replace', 'description']) {
      if (typeof m?.[k] !== 'string') problems.push(`${where}: expected a string '${k}'`);
    }
    if (problems.length > 0 && problems[problems.length - 1].startsWith(where)) return;
    const mu = m as unknown as Mutant;
    if (seen.has(mu.id)) problems.push(`${where}: duplicate id '${mu.id}'`);
    seen.add(mu.id);
    if (!/^src\/model\/[\w/]+\.ts$/.test(mu.file)) problems.push(`${where}: file '${mu.file}' is not a .ts file under src/model/`);
    if (mu.find === '' || mu.find === mu.replace) problems.push(`${where}: find must be non-empty and differ from replace`);
    mutants.push(mu);
  });
  return { mutants, problems };
}

/** Why a mutant does not apply to the tree at `root`, or null when `find` occurs exactly once. */
export function whyNotApplies(root: string, m: Mutant): string | null {
  const path = join(root, m.file);
  if (!existsSync(path)) return `${m.file} does not exist`;
  const n = occurrences(readFileSync(path, 'utf8'), m.find);
  if (n === 1) return null;
  return n === 0 ? `its text no longer occurs in ${m.file}` : `its text occurs ${n} times in ${m.file}`;
}

/** The text of `m.file` (read under `root`) with the mutant applied; throws when it does not apply. */
export function mutatedText(root: string, m: Mutant): string {
  const why = whyNotApplies(root, m);
  if (why) throw new Error(`mutant ${m.id} does not apply: ${why}`);
  const text = readFileSync(join(root, m.file), 'utf8');
  const i = text.indexOf(m.find);
  return text.slice(0, i) + m.replace + text.slice(i + m.find.length);
}
