// Write errors (issue 10, defect 2): an output location that cannot take a
// file is refused before any work with one line and exit 2; a write that
// fails while saving a finding prints the finding first; temporary files
// never outlive a failed write, and those a killed run left are removed at
// the next start.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { fuzzCommand } from '../../src/cli/fuzz.js';
import { WriteFailure, writeAtomic } from '../../src/fuzz/save.js';
import { runMain } from './inproc.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tdxfuzz.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-w-'));
const spec = join(root, 'corpus', 'spec', 'seed-000-double-add.prog');
const temps = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.tdxfuzz-tmp-'));

/** A file, so that anything beneath it cannot be created (ENOTDIR) even for root. */
function aFile(): string {
  const f = join(tmp(), 'plain-file');
  writeFileSync(f, 'x');
  return f;
}

describe('output locations are checked before a run starts', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['fuzz into a corpus under a file', () => ['fuzz', '--runs', '5', '--seed', '1', '--corpus', join(aFile(), 'found')], /--corpus .*: (is a file|cannot create)/],
    ['fuzz into a corpus that is a file', () => ['fuzz', '--runs', '5', '--seed', '1', '--corpus', aFile()], /--corpus .*: is a file, expected a directory/],
    ['report --html onto a directory', () => ['report', spec, '--html', tmp()], /--html .*: is a directory, expected a file/],
    ['export --out onto a directory', () => ['export', spec, '--out', tmp()], /--out .*: is a directory, expected a file/],
    ['export --out under a file', () => ['export', spec, '--out', join(aFile(), 'x.c')], /--out .*: is a file, expected a directory/],
    ['nightly --out a file', () => ['nightly', '--time', '1', '--no-bugs', '--out', aFile()], /--out .*: is a file, expected a directory/],
    ['corpus merge --into a file', () => ['corpus', 'merge', join(root, 'corpus', 'found'), '--into', aFile()], /--into .*: is a file, expected a directory/],
    ['shrink --out onto a directory', () => ['shrink', spec, '--out', tmp()], /--out .*: is a directory, expected a file/],
  ];
  test.each(cases)('%s: exit 2, one line, no stack trace', async (_n, args, msg) => {
    const r = await runMain(...args());
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('report onto a directory leaves no temporary file behind', async () => {
    const dir = tmp();
    const target = join(dir, 'r.html');
    mkdirSync(target);
    expect((await runMain('report', spec, '--html', target)).status).toBe(2);
    expect(temps(dir)).toEqual([]);
  });
});

describe('a failing write', () => {
  test('writeAtomic removes its temporary file and throws a one-line WriteFailure', () => {
    const dir = tmp();
    const target = join(dir, 'x.prog');
    mkdirSync(target);
    expect(() => writeAtomic(target, 'text')).toThrow(WriteFailure);
    try { writeAtomic(target, 'text'); } catch (e) { expect((e as Error).message).toMatch(/^cannot write .*x\.prog: .*\(E[A-Z]+\)$/); }
    expect(temps(dir)).toEqual([]);
  });

  test('fuzz prints the finding to stdout before a failed save, then one error line and exit 2', async () => {
    const corpus = join(tmp(), 'found');
    const outLines: string[] = [];
    const errLines: string[] = [];
    const code = await fuzzCommand({ bug: ['remove-without-track'], seed: '1', runs: '2000', corpus }, (s) => {
      outLines.push(s);
      // The corpus goes away between the check at start and the save.
      if (s.startsWith('# tdxfuzz program v1')) {
        rmSync(corpus, { recursive: true });
        writeFileSync(corpus, 'now a file');
      }
    }, (s) => errLines.push(s));
    expect(code).toBe(2);
    const stdout = outLines.join('\n');
    expect(stdout).toContain('# invariant: removal-order');
    expect(stdout).toMatch(/TDX_INIT_VM|KVM_CREATE_VM|create_vm|vm0 = /i);
    const last = errLines.at(-1)!;
    expect(last).toMatch(/the finding above was not saved: cannot write .*removal-order-[0-9a-f]{8}\.prog: /);
    expect(last.split('\n')).toHaveLength(1);
  }, 60_000);

  test('temporary files a killed run left are removed at the next start', () => {
    const dir = tmp();
    // A pid that is certainly gone: a process that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir, `.tdxfuzz-tmp-${dead}-abc123-x.prog`), 'half written');
    writeFileSync(join(dir, 'keep.prog'), '# tdxfuzz program v1\n');
    expect(run('fuzz', '--runs', '1', '--seed', '1', '--corpus', dir).status).toBe(0);
    expect(temps(dir)).toEqual([]);
    expect(readdirSync(dir)).toContain('keep.prog');
  });
});
