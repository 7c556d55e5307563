// `tdxfuzz corpus check [DIR...]`, `tdxfuzz corpus merge DIR... --into DIR`
// and `tdxfuzz shrink FILE [--out FILE]`.

import { checkProgram } from '../corpus/check.js';
import { mergeCorpora, programFiles } from '../corpus/merge.js';
import { firstFinding, pinResults } from '../fuzz/check.js';
import { minimize } from '../fuzz/minimize.js';
import { writeAtomic } from '../fuzz/save.js';
import { printProgram } from '../program/printer.js';
import { withSetup, type Program } from '../program/types.js';
import { loadProgram, parseFile, readText } from '../program/load.js';
import { programSetup } from '../replay/replay.js';
import { EXIT_FOUND, EXIT_OK } from './errors.js';
import { checkOutputDir, checkOutputFile } from './outputs.js';

export function corpusCheckCommand(dirs: string[], out: (s: string) => void): number {
  const files = (dirs.length ? dirs : ['corpus/spec', 'corpus/found']).flatMap((d) => programFiles(d));
  // Parse everything first: bad input runs nothing.
  const programs = files.map((f) => {
    const text = readText(f);
    return { f, p: parseFile(text, f), text };
  });
  let bad = 0;
  for (const { f, p, text } of programs) {
    const v = checkProgram(p, text);
    if (!v.ok) bad++;
    out(`${v.ok ? 'ok  ' : 'FAIL'} ${v.kind.padEnd(5)} ${f}: ${v.detail}`);
  }
  out(`${programs.length - bad} passed, ${bad} failed`);
  return bad ? EXIT_FOUND : EXIT_OK;
}

export function corpusMergeCommand(dirs: string[], o: { into?: string }, out: (s: string) => void): number {
  const into = o.into ?? 'corpus/found';
  checkOutputDir('--into', into);
  const r = mergeCorpora(dirs, into);
  for (const f of r.added) out(`added ${f}`);
  out(`${r.added.length} new program(s), ${r.duplicates} duplicate(s) by signature, into ${into}`);
  return EXIT_OK;
}

/** `tdxfuzz shrink`: minimise a program that violates an invariant, keeping the same invariant. */
export function shrinkCommand(file: string, o: { out?: string; profile?: string; bug?: string[] }, out: (s: string) => void): number {
  if (o.out) checkOutputFile('--out', o.out);
  const p = loadProgram(file);
  const { profile, bugs } = programSetup(p, o);
  const target = { profile, bugs };
  // The invariant the file names, when the program still violates it (a
  // program may trip several at one step); else the first one violated.
  const named = p.headers.find(([k]) => k === 'invariant')?.[1];
  const first = (named !== undefined ? firstFinding(p, { ...target, want: named }).finding : null) ?? firstFinding(p, target).finding;
  if (!first) {
    out(`${file}: no invariant is violated under ${profile}${bugs.length ? ` with ${bugs.join(',')}` : ''}; nothing to shrink`);
    return EXIT_OK;
  }
  const oracle = (q: Program) => {
    const f = firstFinding(q, { ...target, want: first.invariant }).finding;
    return f ? f.index : -1;
  };
  const { program } = minimize(p, oracle, Date.now() + 60_000);
  const final = firstFinding(program, { ...target, want: first.invariant });
  // The design it was shrunk under goes into the file, overrides included: it must replay the same.
  const pinned = pinResults({ headers: withSetup(p.headers, profile, bugs, first.invariant), calls: program.calls }, final.report);
  const text = printProgram(pinned);
  out(`${file}: ${first.invariant} kept, ${p.calls.length} -> ${program.calls.length} calls`);
  if (o.out) {
    writeAtomic(o.out, text);
    out(`written to ${o.out}`);
  } else out(text.trimEnd());
  return EXIT_FOUND;
}
