// The replay command as a user meets it: exit 0, 1 and 2, one-line reasons
// naming file, line and column, and --json output.

import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tdxfuzz.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const SPURIOUS = `# tdxfuzz program v1
vm0 = KVM_CREATE_VM(type=TDX)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x200000, flags=0)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x200000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)
KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x200000, attributes=PRIVATE, flags=0)
src0 = MMAP_ANON(size=0x1000)
KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE) -> 0
KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE) -> EIO
`;

describe('tdxfuzz replay', () => {
  test('exit 0 when every expectation holds', () => {
    const r = run('replay', file('ok.prog', SPURIOUS));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('PASS');
    expect(r.stdout).toMatch(/KVM_TDX_INIT_MEM_REGION\(.*\) -> EIO/);
  });

  test('exit 1 on a mismatch, naming it', () => {
    const r = run('replay', file('mismatch.prog', SPURIOUS.replace('-> EIO', '-> 0')));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('MISMATCH: expected 0');
  });

  test('--profile overrides the header: g1 answers EEXIST', () => {
    const r = run('replay', file('g1.prog', SPURIOUS), '--profile', 'g1');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('-> EEXIST   MISMATCH: expected EIO');
  });

  test('exit 1 and the invariant when a seeded bug trips one', () => {
    const r = run('replay', file('bug.prog', SPURIOUS.replace('-> EIO', '')), '--bug', 'map-ignores-present-leaf');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('! no-double-add:');
  });

  test('--json: one object per call, then a summary', () => {
    const r = run('replay', file('json.prog', SPURIOUS), '--json');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(11);
    expect(lines[8]).toMatchObject({ index: 8, result: '0', gpa: 0x1000, nr_pages: 0 });
    expect(lines[8].seamcalls.map((s: { name: string }) => s.name)).toContain('TDH.MEM.PAGE.ADD');
    expect(lines[9]).toMatchObject({ result: 'EIO', seamcalls: [], violations: [] });
    expect(lines[10]).toMatchObject({ summary: true, calls: 10, ok: true });
  });

  test.each([
    ['a parse error', () => [file('bad.prog', '# tdxfuzz program v1\nvm0 = KVM_CREATE_VM(type=TDX)\nKVM_TDX_INIT_VM(vm0, flags=)\n')], /bad\.prog:3:28: expected a value for 'flags'/],
    ['a missing file', () => [join(dir, 'nope.prog')], /nope\.prog: no such file/],
    ['a directory', () => { mkdirSync(join(dir, 'sub'), { recursive: true }); return [join(dir, 'sub')]; }, /sub: is a directory/],
    ['an unknown profile', () => [file('p.prog', SPURIOUS), '--profile', 'g7'], /unknown profile 'g7'/],
    ['an unknown bug', () => [file('b.prog', SPURIOUS), '--bug', 'nosuch'], /unknown bug 'nosuch'/],
    ['an unknown version', () => [file('v.prog', '# tdxfuzz program v9\n')], /v\.prog:1:1: unknown program version 'v9'/],
  ] as const)('exit 2 for %s, one line, nothing run', (_n, args, msg) => {
    const r = run('replay', ...args());
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stdout).toBe('');
  });

  test('bad input in any file runs nothing', () => {
    const r = run('replay', file('good.prog', SPURIOUS), file('bad2.prog', 'KVM_NOPE()\n'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });
});
