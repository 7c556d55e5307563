// corpus check, corpus merge and shrink as a user runs them.

import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tdxfuzz.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-corpus-'));

describe('tdxfuzz corpus', () => {
  test('check passes the committed corpus with one line per program and a summary', () => {
    const r = run('corpus', 'check');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(lines.filter((l) => l.startsWith('ok'))).toHaveLength(lines.length - 1);
  });

  test('check fails a found program that no longer trips its invariant', () => {
    const d = tmp();
    const src = readFileSync(join(root, 'corpus', 'found', readdirSync(join(root, 'corpus', 'found')).find((f) => f.startsWith('removal-order'))!), 'utf8');
    writeFileSync(join(d, 'x.prog'), src.replace(/# bugs: .*/, '# bugs: none'));
    const r = run('corpus', 'check', d);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('no longer trips removal-order');
  });

  test('merge de-duplicates by signature', () => {
    const a = tmp();
    const b = tmp();
    const into = tmp();
    const found = join(root, 'corpus', 'found');
    const files = readdirSync(found).slice(0, 3);
    for (const f of files) cpSync(join(found, f), join(a, f));
    for (const f of files.slice(0, 2)) cpSync(join(found, f), join(b, `renamed-${f}`));
    const r = run('corpus', 'merge', a, b, '--into', into);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('3 new program(s), 2 duplicate(s)');
    expect(readdirSync(into).filter((f) => f.endsWith('.prog'))).toHaveLength(3);
  });

  test('a missing directory is exit 2 with one line', () => {
    const r = run('corpus', 'check', join(tmp(), 'nope'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('shrink minimises a hand-written program and keeps its invariant', () => {
    const d = tmp();
    mkdirSync(d, { recursive: true });
    const prog = `# tdxfuzz program v1
# profile: upstream
# bugs: map-ignores-present-leaf
vm0 = KVM_CREATE_VM(type=TDX)
vm1 = KVM_CREATE_VM(type=DEFAULT)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x200000, flags=0)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x200000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)
src0 = MMAP_ANON(size=0x1000)
HOST_WRITE(src0, offset=0x0, byte=0xaa)
KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x200000, attributes=PRIVATE, flags=0)
KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE)
HOST_READ(src0, offset=0x0)
KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE)
KVM_TDX_FINALIZE_VM(vm0)
`;
    writeFileSync(join(d, 'big.prog'), prog);
    const r = run('shrink', join(d, 'big.prog'), '--out', join(d, 'small.prog'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/no-double-add kept, 14 -> \d+ calls/);
    const small = readFileSync(join(d, 'small.prog'), 'utf8');
    expect(small).not.toContain('HOST_READ');
    expect(small).not.toContain('vm1');
    expect(small).toContain('# invariant: no-double-add');
    const again = run('replay', join(d, 'small.prog'));
    expect(again.stdout).toContain('! no-double-add');
  });
});
