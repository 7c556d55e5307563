// tdxfuzz fuzz as a user meets it: exit codes, the printed seed, --json, bad
// arguments, determinism across workers, and SIGINT.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tdxfuzz.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-fuzz-'));
const last = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!);

describe('tdxfuzz fuzz', () => {
  test('a clean run exits 0 and prints its seed', () => {
    const r = run('fuzz', '--runs', '100', '--seed', 'hello', '--corpus', tmp());
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/seed -?\d+ \(from 'hello'\), 1 worker\(s\); replay with --seed -?\d+/);
    expect(r.stdout).toMatch(/no violation: 100 programs/);
  });

  test('a seeded bug is found, printed shrunk, saved, exit 1; the JSON summary is the last line', () => {
    const dir = tmp();
    const r = run('fuzz', '--bug', 'remove-without-track', '--seed', '1', '--runs', '2000', '--json', '--corpus', dir);
    expect(r.status).toBe(1);
    const j = last(r.stdout);
    expect(j).toMatchObject({ status: 'violation', profile: 'upstream', bugs: ['remove-without-track'], seed: 1, invariant: 'removal-order' });
    expect(j.programCalls).toBeLessThanOrEqual(12);
    expect(j.program).toContain('# invariant: removal-order');
    expect(readdirSync(dir).filter((f) => f.endsWith('.prog'))).toEqual([j.file.split('/').at(-1)]);
    expect(readdirSync(dir)).toContain(j.file.split('/').at(-1).replace('.prog', '.html'));
  });

  test('the same seed and runs give the same finding with 1 and 2 workers', () => {
    const a = last(run('fuzz', '--bug', 'mrtd-rollback-on-remove', '--seed', '7', '--runs', '1000', '--json', '--corpus', tmp()).stdout);
    const b = last(run('fuzz', '--bug', 'mrtd-rollback-on-remove', '--seed', '7', '--runs', '1000', '--json', '--workers', '2', '--corpus', tmp()).stdout);
    expect(b.invariant).toBe(a.invariant);
    expect(b.program).toBe(a.program);
    expect(b.file.split('/').at(-1)).toBe(a.file.split('/').at(-1));
  }, 60_000);

  test('shards are disjoint slices: each shard finds its own first program', () => {
    const one = last(run('fuzz', '--seed', '3', '--runs', '60', '--json', '--shard', '1/2', '--corpus', tmp()).stdout);
    const two = last(run('fuzz', '--seed', '3', '--runs', '60', '--json', '--shard', '2/2', '--corpus', tmp()).stdout);
    expect(one.runs).toBe(60);
    expect(two.runs).toBe(60);
    expect(one.calls).not.toBe(two.calls);
  });

  test.each([
    [['--runs', 'ten'], /--runs expects a non-negative integer, got 'ten'/],
    [['--runs', '-5'], /--runs expects a non-negative integer/],
    [['--time', 'x'], /--time expects a non-negative number of seconds/],
    [['--workers', '0'], /--workers expects 1 to 64/],
    [['--workers', 'two'], /--workers expects a non-negative integer/],
    [['--shard', '3/2'], /--shard 3\/2 is out of range/],
    [['--shard', 'half'], /--shard expects I\/N/],
    [['--profile', 'nope'], /unknown profile 'nope'/],
    [['--bug', 'nope'], /unknown bug 'nope'/],
    [['--runs', '5', '--time', '5'], /give --runs or --time, not both/],
    [['--runs', '5', '--corpus', bin], /is a file, expected a directory/],
  ])('bad arguments %j: exit 2, one line', (args, msg) => {
    const r = run('fuzz', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });

  test('SIGINT stops at the next program, prints the summary and exits 130', async () => {
    const child = spawn(process.execPath, [bin, 'fuzz', '--time', '60', '--seed', '1', '--corpus', tmp()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    await new Promise((r) => child.stdout.once('data', r));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(stdout).toMatch(/interrupted: \d+ programs/);
  }, 30_000);

  test('SIGTERM during a run with a bug saves the (possibly unshrunk) finding first', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, [bin, 'fuzz', '--bug', 'skip-zero-on-fault', '--time', '60', '--seed', '1', '--corpus', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect([1, 130]).toContain(code);
    if (stdout.includes('violation of')) expect(readdirSync(dir).filter((f) => f.endsWith('.prog')).length).toBe(1);
  }, 30_000);
});
