// Hostile and odd inputs (issue 10, defect 8): empty and header-less files,
// truncated found files, endless inputs, huge literals, empty seeds, budgets
// of zero, --version, stdin, diff --out and shards without a seed.

import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { mergeCorpora } from '../../src/corpus/merge.js';
import { runMain } from './inproc.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tdxfuzz.mjs');
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-in-'));
const file = (text: string, name = 'p.prog') => {
  const f = join(tmp(), name);
  writeFileSync(f, text);
  return f;
};
const oneLine = (r: { status: number; stderr: string }, re: RegExp) => {
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(re);
};

describe('program files', () => {
  test('an empty file is exit 2, not PASS with 0 calls', async () => {
    oneLine(await runMain('replay', file('')), /p\.prog:1:1: empty file: expected the line '# tdxfuzz program v1'/);
  });

  test('a file with neither the version line nor calls is exit 2', async () => {
    oneLine(await runMain('replay', file('hello\n# not a program\n'.replace('hello\n', '# hello\n'))), /p\.prog:1:1: no calls and no '# tdxfuzz program v1' line: not a program \(found '# hello'\)/);
  });

  test('calls without the version line are v1, as the format promises', async () => {
    const r = await runMain('replay', file('vm0 = KVM_CREATE_VM(type=TDX)\n'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PASS .*: 1 calls/);
  });

  test('the version line with no calls is a valid empty program', async () => {
    const r = await runMain('replay', file('# tdxfuzz program v1\n'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PASS .*: 0 calls/);
  });

  test('a truncated found file is blamed on the file, not the harness', async () => {
    const dir = tmp();
    const { added } = mergeCorpora([join(root, 'corpus', 'found')], dir);
    const f = added.find((x) => x.includes('removal-order'))!;
    const lines = readFileSync(f, 'utf8').trimEnd().split('\n');
    // Cut at a line boundary, keeping the newline: only the # calls: header tells.
    writeFileSync(f, `${lines.slice(0, -2).join('\n')}\n`);
    let r = await runMain('corpus', 'check', dir);
    expect(r.stdout).toMatch(/FAIL found .*removal-order.*the file is truncated \(its '# calls: \d+' header promises/);
    expect(r.stdout).not.toMatch(/removal-order.*gone blind/);
    // Cut in the middle of a line, where what is left still parses.
    writeFileSync(f, lines.slice(0, -1).join('\n').replace(/ -> [^\n]*$/, ''));
    r = await runMain('corpus', 'check', dir);
    expect(r.stdout).toMatch(/removal-order.*the file is truncated \(/);
  });

  test('an endless input is capped with exit 2', () => {
    const r = spawnSync(process.execPath, [bin, 'replay', '/dev/zero'], { encoding: 'utf8', timeout: 60_000 });
    oneLine({ status: r.status ?? -1, stderr: r.stderr }, /\/dev\/zero: larger than 4 MiB, not a program/);
  });

  test('a 1 MB number literal gives a short error line', async () => {
    const r = await runMain('replay', file(`# tdxfuzz program v1\nvm0 = KVM_CREATE_VM(type=${'9'.repeat(1 << 20)})\n`));
    oneLine(r, /p\.prog:2:\d+: .*\.\.\. \(\d+ characters\)/);
    expect(r.stderr.length).toBeLessThan(400);
  });

  test('replay - reads standard input', () => {
    const r = spawnSync(process.execPath, [bin, 'replay', '-'], { input: '# tdxfuzz program v1\nvm0 = KVM_CREATE_VM(type=TDX)\n', encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS <stdin>: 1 calls/);
  });
});

describe('options', () => {
  test.each([
    [['fuzz', '--seed', ''], /--seed expects a number or a non-empty string/],
    [['fuzz', '--runs', '0'], /--runs 0 would run nothing/],
    [['fuzz', '--time', '0'], /--time 0 would run nothing/],
    [['fuzz', '--shard', '1/2', '--runs', '5'], /--shard needs --seed/],
    [['diff', '--a', 'upstream', '--b', 'g1', '--seed', ''], /--seed expects a number or a non-empty string/],
    [['diff', '--a', 'upstream', '--b', 'g1', '--runs', '0'], /--runs 0 would run nothing/],
    [['nightly', '--seed', ' '], /--seed expects a number or a non-empty string/],
  ])('%j: exit 2, one line', async (args, re) => {
    oneLine(await runMain(...args, ...(args[0] === 'fuzz' ? ['--corpus', tmp()] : [])), re);
  });

  test('--version prints the package version', async () => {
    const r = await runMain('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });

  test('diff --out saves the shrunk program, which replays differently under --b', async () => {
    const out = join(tmp(), 'd.prog');
    const r = await runMain('diff', '--a', 'upstream', '--b', 'g1', '--seed', '1', '--runs', '300', '--out', out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain(`saved to ${out}`);
    expect((await runMain('replay', out)).status).toBe(0);
    const under = await runMain('replay', out, '--profile', 'g1');
    expect(under.status).toBe(1);
    expect(under.stdout).toMatch(/MISMATCH/);
    expect(readdirSync(join(out, '..'))).toEqual(['d.prog']);
  });
});
