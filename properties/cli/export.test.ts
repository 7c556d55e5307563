// Every corpus program exports as C that gcc builds into an object with
// -Wall -Werror (not just -fsyntax-only, which hides unused helpers), and as
// a selftest that builds against stand-ins for kvm_util.h/test_util.h. An
// export pins what the sound design returns, not what a finding's bug does.

import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { parseProgram, formatParseError } from '../../src/program/parser.js';
import { exportProgram } from '../../src/export/c.js';
import { programSetup } from '../../src/replay/replay.js';
import { exportPins } from '../../src/export/pins.js';
import { runMain } from './inproc.js';

const root = join(import.meta.dirname, '..', '..');
const files = ['spec', 'found'].flatMap((d) => readdirSync(join(root, 'corpus', d)).filter((f) => f.endsWith('.prog')).map((f) => join(root, 'corpus', d, f)));
const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-export-'));
writeFileSync(join(dir, 'kvm_util.h'), '#include <stdio.h>\n#include <stdlib.h>\nint open_kvm_dev_path_or_exit(void);\n');
writeFileSync(join(dir, 'test_util.h'), '#define TEST_ASSERT(c, ...) do { if (!(c)) { printf(__VA_ARGS__); exit(1); } } while (0)\n');
const gcc = (file: string) => spawnSync('gcc', ['-c', '-Wall', '-Werror', '-I', dir, '-o', file.replace(/\.c$/, '.o'), file], { encoding: 'utf8' });

describe('export', () => {
  test('gcc is available (.ci/run installs it where missing)', () => {
    expect(spawnSync('gcc', ['--version']).status).toBe(0);
  });
  test.each(files.map((f) => [f.split('/').slice(-2).join('/'), f]))('%s compiles as C and as a selftest', (_n, f) => {
    const r = parseProgram(readFileSync(f, 'utf8'), f);
    if (!r.ok) throw new Error(formatParseError(r.error));
    const { results, pins } = exportPins(r.program, programSetup(r.program, {}));
    const base = join(dir, _n.replace(/[/.]/g, '_'));
    for (const format of ['c', 'selftest'] as const) {
      const text = exportProgram(r.program, format, results, pins);
      writeFileSync(`${base}.${format}.c`, text);
      const g = gcc(`${base}.${format}.c`);
      expect(g.status, g.stderr).toBe(0);
      expect(existsSync(`${base}.${format}.o`)).toBe(true);
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

describe('export pins the sound design (issue 10, defect 3)', () => {
  const found = readdirSync(join(root, 'corpus', 'found')).find((f) => f.startsWith('spurious-eio-'))!;
  const file = join(root, 'corpus', 'found', found);
  const program = (() => { const r = parseProgram(readFileSync(file, 'utf8'), file); if (!r.ok) throw new Error('parse'); return r.program; })();
  // The step where the bug answers 0 and a correct kernel EIO.
  const step = program.calls.findIndex((c) => c.expect?.kind === 'errno' ? false : c.op === 'KVM_TDX_INIT_MEM_REGION' && program.calls.slice(0, program.calls.indexOf(c)).some((d) => d.op === 'KVM_TDX_INIT_MEM_REGION'));

  test('the selftest of a spurious-eio finding expects EIO where the sound design returns it, and names the step that differs', async () => {
    const r = await runMain('export', file, '--format', 'selftest');
    expect(r.status, r.stderr).toBe(0);
    expect(step).toBeGreaterThan(0);
    const line = r.stdout.split('\n').findIndex((l) => l.startsWith(`\t/* ${step}: KVM_TDX_INIT_MEM_REGION`));
    expect(r.stdout.split('\n')[line]).toMatch(/-> EIO \(the finding's design \(upstream with spurious-returns-success\): 0\)/);
    expect(r.stdout).toContain(`check(${step}, "KVM_TDX_INIT_MEM_REGION", r, WANT_ERRNO, EIO);`);
    expect(r.stdout).toContain('Each call is checked against what the sound design (upstream, no seeded bugs) returns.');
    expect(r.stdout).toMatch(new RegExp(`The finding's design .* answers differently at step ${step} `));
  });

  test('--pin flawed pins the bug\'s answers instead, and says so', async () => {
    const r = await runMain('export', file, '--format', 'selftest', '--pin', 'flawed');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`check(${step}, "KVM_TDX_INIT_MEM_REGION", r, WANT_VALUE, 0x0ULL);`);
    expect(r.stdout).toContain("checked against what the finding's design (upstream with spurious-returns-success) returns");
    expect((await runMain('export', file, '--pin', 'buggy')).status).toBe(2);
  });

  test('--bug none is accepted and means no seeded bugs', async () => {
    const r = await runMain('export', file, '--bug', 'none');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('checked against what the sound design (upstream, no seeded bugs) returns');
    expect(r.stdout).not.toContain('answers differently');
    expect(r.stdout).toContain(`check(${step}, "KVM_TDX_INIT_MEM_REGION", r, WANT_ERRNO, EIO);`);
  });
});
