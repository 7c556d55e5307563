// Seeded bugs and their profiles (issue 10, defects 6 and 7): `--bug`
// without `--profile` runs the bug's own profile and says so, a bug that
// cannot fire under the profile given is exit 2 with the reason, `profiles
// --json` lists each bug's profile, and `--want` fuzzes past other
// invariants to the one asked for.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUGS } from '../../src/model/bugs.js';
import { bugConflict, bugProfile } from '../../src/replay/select.js';
import { runMain } from './inproc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tdxfuzz-bugs-'));
const last = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!);

describe('a bug picks its profile', () => {
  test('--bug folio-wrappers without --profile runs hugepage and prints which', async () => {
    const r = await runMain('fuzz', '--bug', 'folio-wrappers', '--seed', '1', '--runs', '3', '--corpus', tmp());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/profile hugepage picked for --bug folio-wrappers/);
    expect(r.stdout).toMatch(/tdxfuzz fuzz: profile hugepage, bugs folio-wrappers/);
  });

  test('a bug that cannot fire under the given profile is exit 2 with the reason', async () => {
    const r = await runMain('fuzz', '--bug', 'folio-wrappers', '--profile', 'upstream', '--runs', '10', '--corpus', tmp());
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--bug folio-wrappers cannot fire under profile upstream: it needs hugetlb=true, hugeMappings=true \(try --profile hugepage\)/);
  });

  test('every bug can fire under its own profile, and profiles --json lists it', async () => {
    const r = await runMain('profiles', '--json');
    const j = JSON.parse(r.stdout);
    for (const b of BUGS) {
      expect(bugConflict(b.name, bugProfile(b.name))).toBeUndefined();
      expect(j.bugs.find((x: { name: string }) => x.name === b.name)).toMatchObject({ profile: bugProfile(b.name), invariant: b.invariant });
    }
    expect(j.bugs.find((x: { name: string }) => x.name === 'folio-wrappers').profile).toBe('hugepage');
  });

  test('replay with --bug and no profile anywhere uses the bug\'s profile', async () => {
    const dir = tmp();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'p.prog'), '# tdxfuzz program v1\nvm0 = KVM_CREATE_VM(type=TDX)\n');
    const r = await runMain('replay', join(dir, 'p.prog'), '--bug', 'folio-wrappers');
    expect(r.stdout).toMatch(/profile hugepage, bugs folio-wrappers/);
  });
});

describe('--want', () => {
  test('--bug conversion-reuses-pfn --want pfn-single-owner reaches the invariant the bug is listed with', async () => {
    const r = await runMain('fuzz', '--bug', 'conversion-reuses-pfn', '--want', 'pfn-single-owner', '--seed', '1', '--runs', '3000', '--json', '--corpus', tmp());
    expect(r.status, r.stderr).toBe(1);
    expect(last(r.stdout)).toMatchObject({ status: 'violation', invariant: 'pfn-single-owner' });
    expect(r.stderr).toMatch(/only violations of pfn-single-owner count/);
  }, 60_000);

  test('without --want the same run stops at another invariant first', async () => {
    const r = await runMain('fuzz', '--bug', 'conversion-reuses-pfn', '--seed', '1', '--runs', '3000', '--json', '--corpus', tmp());
    expect(last(r.stdout).invariant).not.toBe('pfn-single-owner');
  }, 60_000);

  test('an unknown invariant is exit 2', async () => {
    const r = await runMain('fuzz', '--want', 'no-such-thing', '--runs', '1', '--corpus', tmp());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown invariant 'no-such-thing' for --want/);
  });
});
