// no-unexpected-bug is live (its seeded bug is found and shrunk), and the
// causes the semantics list for a bugged VM do not trip it.

import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { runProgram } from '../../src/fuzz/runner.js';
import type { ProfileName } from '../../src/model/profiles.js';
import { huntTests } from './hunt.js';

function run(text: string, profile: ProfileName = 'upstream') {
  const r = parseProgram(`# tdxfuzz program v1\n# profile: ${profile}\n${text}\n`, 'inline');
  if (!r.ok) throw new Error('bad program');
  const report = runProgram(r.program, { profile, bugs: [] });
  const vm = report.world.vms.values().next().value;
  return { bugged: vm?.bugged ?? false, violations: report.violations, results: report.steps.map((s) => s.result), steps: report.steps };
}

const TD = `vm0 = KVM_CREATE_VM(type=TDX)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x1000, flags=0)
src0 = MMAP_ANON(size=0x1000)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x1000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)
KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x1000, attributes=PRIVATE, flags=0)`;

describe('no-unexpected-bug', () => {
  huntTests(['no-unexpected-bug']);
  test('FINALIZE with no initialised vCPU bugs the VM, a listed cause', () => {
    const r = run('vm0 = KVM_CREATE_VM(type=TDX)\nKVM_TDX_INIT_VM(vm0)\ncpu0 = KVM_CREATE_VCPU(vm0, id=0)\nKVM_TDX_FINALIZE_VM(vm0)');
    expect(r.bugged).toBe(true);
    expect(r.violations).toEqual([]);
  });
  test('an injected BUSY on a SEAMCALL KVM does not retry bugs the VM, a listed cause', () => {
    for (const busy of [1, 2, 3, 6]) {
      const r = run(`vm0 = KVM_CREATE_VM(type=TDX)\nKVM_TDX_INIT_VM(vm0) [busy=${busy}]`);
      expect(r.bugged, `busy=${busy}`).toBe(true);
      expect(r.violations).toEqual([]);
    }
    const teardown = run('vm0 = KVM_CREATE_VM(type=TDX)\nKVM_TDX_INIT_VM(vm0)\nCLOSE(vm0) [busy=1]');
    expect(teardown.bugged).toBe(true);
    expect(teardown.violations).toEqual([]);
  });
  test('an injected BUSY on MR.EXTEND bugs a G3 VM but is a plain EIO in G1', () => {
    const call = 'KVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=MEASURE)';
    const at = run(`${TD}\n${call}`).steps.at(-1)!.seamcalls.findIndex((r) => r.name === 'TDH.MR.EXTEND') + 1;
    expect(at).toBeGreaterThan(0);
    const add = `${TD}\n${call} [busy=${at}]`;
    const g3 = run(add, 'upstream');
    expect(g3.results.at(-1)).toMatchObject({ kind: 'errno', name: 'EIO' });
    expect(g3.bugged).toBe(true);
    expect(g3.violations).toEqual([]);
    const g1 = run(add, 'g1');
    expect(g1.results.at(-1)).toMatchObject({ kind: 'errno', name: 'EIO' });
    expect(g1.bugged).toBe(false);
    expect(g1.violations).toEqual([]);
  });
  test('G1: the quiet zap of a pre-mapped leaf does not hide the injected BUSY that bugs the teardown after it', () => {
    // PAGE.ADD busy leaves the leaf pre-mapped; the file's release zaps it
    // (BLOCK finds no entry, which G1 handles quietly before finalize), then
    // the teardown's VP.FLUSH gets the injected BUSY and bugs the VM.
    const text = `${TD}\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=0) [busy=4]\nCLOSE(vm0)\nCLOSE(cpu0)\nCLOSE(g0) [busy=2]`;
    const r = run(text, 'g1');
    expect(r.results[8]).toMatchObject({ kind: 'errno', name: 'EBUSY' });
    expect(r.steps.at(-1)!.seamcalls.slice(0, 2).map((x) => `${x.name} ${x.status}`)).toEqual(['TDH.MEM.RANGE.BLOCK TDX_EPT_ENTRY_STATE_INCORRECT', 'TDH.VP.FLUSH TDX_OPERAND_BUSY']);
    expect(r.bugged).toBe(true);
    expect(r.violations).toEqual([]);
  });
  test('an injected BUSY on a SEAMCALL KVM retries does not bug the VM', () => {
    const r = run(`${TD}\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=0) [busy=1]`);
    expect(r.bugged).toBe(false);
    expect(r.violations).toEqual([]);
  });
});
