// td-lifecycle predicts FINALIZE's answer for an INITIALIZED TD: G1 refuses
// it (EINVAL) exactly while a page is pre-mapped, a mirror leaf whose GPA
// the module never added, and no design refuses it otherwise. The pre-mapped
// pages are counted from the leaves, so a count KVM forgets to drop shows.

import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { newRunWorld, runStep } from '../../src/fuzz/runner.js';
import type { ProfileName } from '../../src/model/profiles.js';
import type { World } from '../../src/model/world.js';

// PAGE.ADD of the populate is BUSY (G1: the leaf stays pre-mapped); deleting
// the memslot zaps it.
const PREMAP = (zap: boolean) => `vm0 = KVM_CREATE_VM(type=TDX)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x10000, flags=0)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x10000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x10000, attributes=PRIVATE, flags=0)
src0 = MMAP_ANON(size=0x1000)
KVM_TDX_INIT_MEM_REGION(cpu0, source=src0+0x0, gpa=0x0, nr_pages=1, flags=0) [busy=4]
${zap ? 'KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x0, uaddr=0x0, gmem=g0, offset=0x0)' : 'spare = MMAP_ANON(size=0x1000)'}
KVM_TDX_FINALIZE_VM(vm0)`;

/** Run `text`, calling `before` on the world just before the last call; the last step's answer and td-lifecycle messages. */
function finalize(profile: ProfileName, text: string, before: (w: World) => void = () => {}) {
  const r = parseProgram(`# tdxfuzz program v1\n# profile: ${profile}\n${text}\n`, 'inline');
  if (!r.ok) throw new Error('bad program');
  const opts = { profile, bugs: [] };
  const w = newRunWorld(opts);
  const names = new Map<string, { value: number }>();
  const calls = r.program.calls;
  let last;
  for (let i = 0; i < calls.length; i++) {
    if (i === calls.length - 1) before(w);
    last = runStep(w, calls[i], i, names, opts);
  }
  return { answer: last!.result.kind === 'errno' ? last!.result.name : 'OK', lifecycle: last!.violations.filter((v) => v.invariant === 'td-lifecycle').map((v) => v.message) };
}

describe('FINALIZE of an INITIALIZED TD', () => {
  test('G1: refused while the busy populate left a page pre-mapped, finalized once the zap took it', () => {
    expect(finalize('g1', PREMAP(false))).toEqual({ answer: 'EINVAL', lifecycle: [] });
    expect(finalize('g1', PREMAP(true))).toEqual({ answer: 'OK', lifecycle: [] });
  });

  test('G1: a pre-mapped count the zap forgot is a refusal with no page waiting', () => {
    const r = finalize('g1', PREMAP(true), (w) => { for (const vm of w.vms.values()) if (vm.tdx) vm.tdx.nrPremapped++; });
    expect(r.answer).toBe('EINVAL');
    expect(r.lifecycle).toEqual([expect.stringMatching(/refused KVM_TDX_FINALIZE_VM with EINVAL while its TD is INITIALIZED and no mirror leaf waits/)]);
  });

  test('G1: finalized with a page still pre-mapped is a violation too', () => {
    const r = finalize('g1', PREMAP(false), (w) => { for (const vm of w.vms.values()) if (vm.tdx) vm.tdx.nrPremapped = 0; });
    expect(r.answer).toBe('OK');
    expect(r.lifecycle).toEqual([expect.stringMatching(/finalized while 1 mirror leaf\(s\) still wait for their PAGE.ADD/)]);
  });

  test('upstream never refuses it with EINVAL, and hw_error is the preamble\'s to refuse', () => {
    expect(finalize('upstream', PREMAP(false))).toEqual({ answer: 'OK', lifecycle: [] });
    const refused = finalize('upstream', PREMAP(false), (w) => { for (const vm of w.vms.values()) if (vm.tdx) vm.tdx.state = 'RUNNABLE'; });
    expect(refused.answer).toBe('EINVAL');
    expect(refused.lifecycle).toEqual([expect.stringMatching(/refused KVM_TDX_FINALIZE_VM with EINVAL while its TD is INITIALIZED$/)]);
    const text = PREMAP(false).replace('KVM_TDX_FINALIZE_VM(vm0)', 'KVM_TDX_FINALIZE_VM(vm0, hw_error=1)');
    expect(finalize('upstream', text)).toEqual({ answer: 'EINVAL', lifecycle: [] });
  });
});
