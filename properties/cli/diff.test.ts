// tdxfuzz diff finds, from a fixed seed, the programs on which the designs
// the seeds argue about answer differently.

import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tdxfuzz.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('tdxfuzz diff', () => {
  test.each([
    ['upstream', 'null-source-target', /^>>> KVM_TDX_INIT_MEM_REGION\(cpu0, source=0x0.*EINVAL\s+0$/m],
    ['upstream', 'g1', /^>>> KVM_TDX_INIT_MEM_REGION\(cpu0, source=0x0.*EINVAL\s+EFAULT$/m],
    // The folio wrappers bug the VM where the PFN-only ones succeed, so the first answer that differs is the flawed design's EIO.
    ['hugepage', 'hugepage-folio', /^>>> .*\s+(?!EIO\s)\S+\s+EIO$/m],
    ['upstream', 'inplace', /^>>> /m],
  ])('%s against %s', (a, b, marked) => {
    const r = run('diff', '--a', a, '--b', b, '--seed', '1');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(marked);
    expect(r.stdout).toMatch(/shrunk from \d+ to \d+ calls; first difference at call \d+/);
  }, 60_000);

  test('--json gives both result columns', () => {
    const r = run('diff', '--a', 'upstream', '--b', 'g1', '--seed', '1', '--json');
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(j.status).toBe('different');
    // G1 had no NULL check: the GUP of address 0 fails where G3 refuses source=0 up front.
    expect(j.upstream[j.index]).toBe('EINVAL');
    expect(j.g1[j.index]).toBe('EFAULT');
  }, 60_000);

  test('a profile against itself is a usage error', () => {
    const r = run('diff', '--a', 'g1', '--b', 'g1');
    expect(r.status).toBe(2);
  });
});
