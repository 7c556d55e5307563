// errno-contract compares the whole state across a failed call: every part of
// the model moves the state image, the kernel's documented partial progress
// is allowed, and a failed call that changes pages is caught.

import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { runProgram } from '../../src/fuzz/runner.js';
import { newWorld } from '../../src/model/world.js';
import { PROFILES, type ProfileName } from '../../src/model/profiles.js';
import { sameState, stateImage } from '../../src/invariants/digest.js';
import type { BugName } from '../../src/model/bugs.js';
import { asPfn } from '../../src/model/units.js';
import { pamtAssign } from '../../src/model/tdx/pamt.js';

function run(text: string, profile: ProfileName = 'upstream', bugs: BugName[] = []) {
  const r = parseProgram(`# tdxfuzz program v1\n# profile: ${profile}\n${text}\n`, 'inline');
  if (!r.ok) throw new Error('bad program');
  return runProgram(r.program, { profile, bugs });
}

const TD = `vm0 = KVM_CREATE_VM(type=TDX)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x1000000, flags=0)
src0 = MMAP_ANON(size=0x2000000)
KVM_SET_USER_MEMORY_REGION2(vm0, slot=0, flags=GUEST_MEMFD, gpa=0x0, size=0x1000000, uaddr=0x0, gmem=g0, offset=0x0)
KVM_TDX_INIT_VM(vm0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_TDX_INIT_VCPU(cpu0)`;

describe('errno-contract state image', () => {
  test('every part of the state moves the image; the name counter does not', () => {
    const w = newWorld(PROFILES.upstream, new Set());
    const a = stateImage(w, 0);
    const b = stateImage(w, 1);
    expect(sameState(a, b)).toBe(true);
    const edits: Array<() => void> = [
      () => w.phys.bytes.set(asPfn(0x100000), 0x55),
      () => pamtAssign(w.tdx, asPfn(0x100001), 0, 'PT_REG', 1),
      () => w.pins.set(asPfn(0x100002), 1),
      () => { w.nextFd++; },
      () => { w.nextVa += 4096n; },
      () => { w.pfns.bump++; },
    ];
    for (const edit of edits) {
      const before = stateImage(w, 0);
      edit();
      expect(sameState(before, stateImage(w, 1)), edit.toString()).toBe(false);
    }
    const before = stateImage(w, 0);
    w.nextId++;
    expect(sameState(before, stateImage(w, 1))).toBe(true);
  });
  test('objects are told apart by their fields and field order, whether written generically or by their compiled writer', () => {
    const w = newWorld(PROFILES.upstream, new Set());
    // Enough objects of one shape that its writer is compiled part way through the map.
    for (let fd = 3; fd < 40; fd++) w.fds.set(fd, { kind: 'vm', id: fd });
    const image = (slot: 0 | 1) => stateImage(w, slot);
    expect(sameState(image(0), image(1))).toBe(true);
    const edits: Array<[string, () => void]> = [
      ['a value', () => { w.fds.get(4)!.id = 99; }],
      ['a type', () => { (w.fds.get(5) as unknown as { id: unknown }).id = '5'; }],
      ['a field order', () => { w.fds.set(6, { id: 6, kind: 'vm' } as never); }],
      ['an added field', () => { (w.fds.get(7) as unknown as Record<string, unknown>).extra = undefined; }],
      ['a renamed field', () => { w.fds.set(9, { kind: 'vm', vmId: 9 } as never); }],
      ['a removed field', () => { delete (w.fds.get(8) as unknown as Record<string, unknown>).id; }],
      ['a deep field', () => { pamtAssign(w.tdx, asPfn(7), 0, 'PT_REG', 1); }],
    ];
    for (const [what, edit] of edits) {
      const before = image(0);
      edit();
      expect(sameState(before, image(1)), what).toBe(false);
    }
    // The same state written twice more, after every writer is compiled, still compares equal.
    expect(sameState(image(0), image(1))).toBe(true);
  });
  test('a failed fallocate that allocated pages is caught, and is clean without the bug', () => {
    const p = 'vm0 = KVM_CREATE_VM(type=TDX)\ng0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x1000, flags=0)\nFALLOCATE(g0, mode=KEEP_SIZE, offset=0x0, len=0x200000)';
    const bad = run(p, 'upstream', ['fallocate-allocates-past-eof']);
    expect(bad.violations.map((v) => v.invariant)).toEqual(['errno-contract']);
    expect(bad.violations[0].message).toMatch(/FALLOCATE failed with EINVAL but changed the model's state/);
    expect(run(p).violations).toEqual([]);
  });
  test('documented partial progress passes: EINTR with the region advanced, FINALIZE EBUSY, a faulted-in source', () => {
    const eintr = run(`${TD}\nKVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x1000000, attributes=PRIVATE, flags=0)\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=0x1001, flags=0)`);
    expect(eintr.steps.at(-1)!.result).toMatchObject({ kind: 'errno', name: 'EINTR' });
    expect(eintr.violations).toEqual([]);
    const busy = run(`${TD}\nKVM_TDX_FINALIZE_VM(vm0) [busy=1]`);
    expect(busy.steps.at(-1)!.result).toMatchObject({ kind: 'errno', name: 'EBUSY' });
    expect(busy.violations).toEqual([]);
    const gup = run(`${TD}\nKVM_TDX_INIT_MEM_REGION(cpu0, source=src0, gpa=0x0, nr_pages=1, flags=0)`);
    expect(gup.steps.at(-1)!.result).toMatchObject({ kind: 'errno', name: 'EINVAL' });
    expect(gup.violations).toEqual([]);
  });
});
