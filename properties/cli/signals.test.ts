// Interrupts as a user gives them (issue 10, defect 1): with worker threads
// the first SIGINT stops the run within a second or two, a shrink in progress
// saves its best program so far, and a second signal exits at once.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, expect, test } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tdxfuzz.mjs');
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-sig-'));

function start(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => { io.stdout += d; });
  child.stderr!.on('data', (d) => { io.stderr += d; });
  const exit = new Promise<{ code: number | null; at: number }>((r) => child.on('exit', (code) => r({ code, at: Date.now() })));
  return { child, io, exit };
}

const until = async (cond: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function interrupt(child: ChildProcess, exit: Promise<{ code: number | null; at: number }>, signal: NodeJS.Signals = 'SIGINT') {
  const sent = Date.now();
  child.kill(signal);
  const { code, at } = await exit;
  return { code, seconds: (at - sent) / 1000 };
}

describe('signals with worker threads', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s during the search with --workers 2 exits 130 within 3 s with the summary', async (signal) => {
    const { child, io, exit } = start(['fuzz', '--workers', '2', '--time', '60', '--seed', '1', '--corpus', tmp()]);
    await until(() => io.stdout.includes('2 worker(s)'));
    // Give the workers time to be deep in their synchronous search.
    await new Promise((r) => setTimeout(r, 2500));
    const { code, seconds } = await interrupt(child, exit, signal);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(3);
    expect(io.stdout).toMatch(/interrupted: \d+ programs/);
  }, 90_000);

  test('SIGINT while shrinking saves the best program so far and exits 130 within 3 s', async () => {
    const dir = tmp();
    // A 600-call program that shrinks for seconds (about 4.5 s uninterrupted).
    const { child, io, exit } = start(['fuzz', '--workers', '2', '--bug', 'teardown-frees-unreclaimed', '--seed', '1', '--runs', '3000', '--max-calls', '600', '--corpus', dir]);
    await until(() => io.stderr.includes('shrinking program'));
    await new Promise((r) => setTimeout(r, 700));
    const { code, seconds } = await interrupt(child, exit);
    expect(code).toBe(130);
    expect(seconds).toBeLessThan(3);
    expect(io.stdout).toMatch(/violation of frame-liveness/);
    expect(io.stdout).toMatch(/shrinking interrupted: best so far/);
    expect(io.stdout).toContain('# invariant: frame-liveness');
    const saved = readdirSync(dir).filter((f) => f.endsWith('.prog'));
    expect(saved).toHaveLength(1);
    // The partly shrunk program still trips its invariant and passes under the sound design.
    const check = spawnSync(process.execPath, [bin, 'corpus', 'check', dir], { encoding: 'utf8' });
    expect(check.stdout).toMatch(/^ok {3}found/m);
    expect(check.status).toBe(0);
    expect(readFileSync(join(dir, saved[0]), 'utf8')).toContain('# bugs: teardown-frees-unreclaimed');
  }, 90_000);

  test('a second signal exits at once', async () => {
    const { child, io, exit } = start(['fuzz', '--workers', '2', '--bug', 'remove-without-track', '--seed', '1', '--runs', '3000', '--max-calls', '120', '--corpus', tmp()]);
    await until(() => io.stderr.includes('shrinking program'));
    child.kill('SIGINT');
    const sent = Date.now();
    child.kill('SIGINT');
    const { code, at } = await exit;
    expect(code).toBe(130);
    expect((at - sent) / 1000).toBeLessThan(3);
  }, 90_000);
});
