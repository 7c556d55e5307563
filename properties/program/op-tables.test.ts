// Every table keyed by call name is a Record<Op, ...> (or a switch with a
// `never` default), so that a new call does not compile until each of them
// has its entry. Prove it the way it would happen: type-check the project
// with one more call in the vocabulary and see every table complain.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CALLS_FILE = resolve(root, 'src/program/calls.ts');
const TABLE_START = 'const TABLE = callTable({\n';
const NEW_CALL = "  NEW_CALL: { op: 'NEW_CALL', handles: ['vm'], keys: {} },\n";

/** The files that hold a per-call table or an exhaustive switch over the call name. */
const TABLES = [
  'src/program/calls.ts', // the model's handlers (MODEL_RUNS_EVERY_CALL)
  'src/fuzz/body.ts', // BODY_WEIGHTS and argsFor()
  'src/invariants/errno_contract.ts', // ALLOWED
  'src/invariants/lifecycle.ts', // NEEDS
  'src/export/c.ts', // statement()
  'src/oracle/observe.ts', // observe()
  'src/fuzz/reach.ts', // Reach.observe()
];

let previous: ts.Program | undefined;

/** Type errors in `files` when calls.ts reads as `callsText`. */
function errorsWith(callsText: string, files: readonly string[]): Map<string, string[]> {
  const config = ts.readConfigFile(resolve(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, fresh) =>
    resolve(name) === CALLS_FILE ? ts.createSourceFile(name, callsText, lang) : getSourceFile(name, lang, onError, fresh);
  // The previous program lends the files that did not change, to save a second parse.
  const program = ts.createProgram(files.map((f) => resolve(root, f)), options, host, previous);
  previous = program;
  const out = new Map<string, string[]>();
  for (const f of files) {
    const diags = program.getSemanticDiagnostics(program.getSourceFile(resolve(root, f)));
    out.set(f, diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')));
  }
  return out;
}

describe('a call added to the vocabulary', () => {
  const text = readFileSync(CALLS_FILE, 'utf8');

  test('the vocabulary table is where the test expects it', () => {
    expect(text.split(TABLE_START)).toHaveLength(2);
  });

  test('every per-call table compiles as it is', () => {
    for (const [f, errors] of errorsWith(text, TABLES)) expect(errors, f).toEqual([]);
  }, 120_000);

  test('fails to compile in every per-call table until it has its entry', () => {
    const more = errorsWith(text.replace(TABLE_START, TABLE_START + NEW_CALL), TABLES);
    for (const [f, errors] of more) {
      expect(errors.length, `${f} accepts a call it has no entry for`).toBeGreaterThan(0);
    }
  }, 120_000);
});
