// Every corpus program exports as C that gcc accepts with -Wall -Werror, and
// as a selftest that compiles against stand-ins for kvm_util.h/test_util.h.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { parseProgram, formatParseError } from '../../src/program/parser.js';
import { exportProgram } from '../../src/export/c.js';
import { replayProgram } from '../../src/cli/replay.js';

const root = join(import.meta.dirname, '..', '..');
const files = ['spec', 'found'].flatMap((d) => readdirSync(join(root, 'corpus', d)).filter((f) => f.endsWith('.prog')).map((f) => join(root, 'corpus', d, f)));
const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-export-'));
writeFileSync(join(dir, 'kvm_util.h'), '#include <stdio.h>\n#include <stdlib.h>\nint open_kvm_dev_path_or_exit(void);\n');
writeFileSync(join(dir, 'test_util.h'), '#define TEST_ASSERT(c, ...) do { if (!(c)) { printf(__VA_ARGS__); exit(1); } } while (0)\n');
const gcc = (file: string) => spawnSync('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-I', dir, file], { encoding: 'utf8' });

describe('export', () => {
  test('gcc is available (.ci/run installs it where missing)', () => {
    expect(spawnSync('gcc', ['--version']).status).toBe(0);
  });
  test.each(files.map((f) => [f.split('/').slice(-2).join('/'), f]))('%s compiles as C and as a selftest', (_n, f) => {
    const r = parseProgram(readFileSync(f, 'utf8'), f);
    if (!r.ok) throw new Error(formatParseError(r.error));
    const results = replayProgram(r.program, {}).report.steps.map((s) => s.result);
    const base = join(dir, _n.replace(/[/.]/g, '_'));
    for (const format of ['c', 'selftest'] as const) {
      const text = exportProgram(r.program, format, results);
      writeFileSync(`${base}.${format}.c`, text);
      const g = gcc(`${base}.${format}.c`);
      expect(g.status, g.stderr).toBe(0);
      expect(text.match(/\tcheck\(\d+, /g)).toHaveLength(r.program.calls.length);
    }
    const st = exportProgram(r.program, 'selftest', results);
    expect(st).toContain('#include "kvm_util.h"');
    if (results.some((x) => x.kind === 'errno' && x.name !== 'EBADF')) expect(st).toContain('__sys(');
  });
});

test('tdxfuzz export writes a file and rejects an unknown format', () => {
  const bin = join(root, 'bin', 'tdxfuzz.mjs');
  const out = join(dir, 'x.c');
  const ok = spawnSync(process.execPath, [bin, 'export', join(root, 'corpus', 'spec', 'seed-000-double-add.prog'), '--out', out], { encoding: 'utf8' });
  expect(ok.status).toBe(0);
  expect(readFileSync(out, 'utf8')).toContain('KVM_TDX_INIT_MEM_REGION');
  const bad = spawnSync(process.execPath, [bin, 'export', out, '--format', 'rust'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
});
