// The kernel target: the C executor, the driver's hang and crash findings,
// differential replay (against the model stand-in, so it runs everywhere),
// and, where /dev/kvm is usable, the corpus and a short fuzz run against the
// real kernel.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { exportProgram } from '../../src/export/c.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import type { Program } from '../../src/program/types.js';
import { runKernelProgram } from '../../src/kernel/run.js';
import { answerText } from '../../src/kernel/protocol.js';
import { probeKernel } from '../../src/kernel/probe.js';
import { runDifferential } from '../../src/kernel/differential.js';
import { kernelFuzz, retypeForKernel } from '../../src/kernel/fuzz.js';
import { KERNEL_DEFAULT_GATES } from '../../src/model/profiles.js';
import { deriveSettings } from '../../src/kernel/probe.js';
import { standInTarget } from '../../src/kernel/model_executor.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const parse = (text: string): Program => {
  const r = parseProgram(text, 'test');
  if (!r.ok) throw new Error(r.error.message);
  return r.program;
};

const STAND_IN = 'node executor/model-executor.mjs';

const HOST = parse(`src0 = MMAP_ANON(size=0x2000)
HOST_WRITE(src0, offset=0x1000, byte=0xaa)
HOST_READ(src0, offset=0x1000)
HOST_READ(src0, offset=0x2000)
MUNMAP(src0)
HOST_READ(src0, offset=0x0)
MUNMAP(src0)
`);

const PRIVATE_READ = parse(`# vm-type: default
vm0 = KVM_CREATE_VM(type=TDX)
g0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x200000, flags=MMAP)
m0 = MMAP(g0, offset=0x0, size=0x1000, shared=1)
HOST_READ(m0, offset=0x0)
KVM_SET_MEMORY_ATTRIBUTES(vm0, gpa=0x0, size=0x1000, attributes=PRIVATE, flags=0)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
KVM_PRE_FAULT_MEMORY(cpu0, gpa=0x0, size=0x1000, flags=0)
`);

describe('the C executor', () => {
  it('answers host memory calls with the host kernel’s results', () => {
    const r = runKernelProgram(HOST);
    expect(r.fault).toBeUndefined();
    expect(r.answers.map(answerText)).toEqual(['OK', 'OK', '170', 'SIGBUS', '0', 'SIGBUS', '0']);
  }, 120_000);
});

describe('exported reproducers', () => {
  it('run GUEST_ACCESS with the executor guest and compile with the system cc', () => {
    const p = parse(`vm0 = KVM_CREATE_VM(type=DEFAULT)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
GUEST_ACCESS(cpu0, gpa=0x1000, private=0, write=1, byte=0x11)
GUEST_ACCESS(cpu0, gpa=0x1000, private=0, write=0) -> 0x11
`);
    const c = exportProgram(p, 'c');
    expect(c).toContain('guest_vm_created(kvm, vm0);');
    expect(c).toContain('r = guest_access(kvm, vm0, cpu0, 0x1000ULL, (int)0x0ULL, (uint8_t)0);');
    const dir = mkdtempSync(join(tmpdir(), 'tdxfuzz-x-'));
    writeFileSync(join(dir, 'r.c'), c);
    execFileSync('cc', ['-fsyntax-only', '-Wall', '-Werror', '-Wno-unused-function', '-Wno-unused-variable', join(dir, 'r.c')], { stdio: 'pipe' });
  }, 60_000);
});

describe('the driver', () => {
  it('kills an executor that hangs and reports kernel-hang at the unanswered call', () => {
    const r = runKernelProgram(HOST, { executor: 'echo HELLO x; echo R OK; sleep 30', callTimeoutMs: 100 });
    expect(r.fault).toMatchObject({ kind: 'kernel-hang', index: 1 });
    expect(r.ms).toBeLessThan(10_000);
  });
  it('reports an executor that dies as kernel-crash', () => {
    const r = runKernelProgram(HOST, { executor: 'echo HELLO x; echo R OK; echo R OK; kill -SEGV $$' });
    expect(r.fault).toMatchObject({ kind: 'kernel-crash', index: 2 });
    expect(r.fault!.message).toContain('SIGSEGV');
  });
});

describe('differential replay (model stand-in executor)', () => {
  it('agrees with a stand-in of the same configuration', () => {
    const d = runDifferential(PRIVATE_READ, { executor: STAND_IN });
    expect(d.needs).toBeUndefined();
    expect(d.divergence).toBe(-1);
    expect(d.steps.map((s) => (s.kernel ? answerText(s.kernel) : '-'))).toEqual(['OK', 'OK', 'OK', 'SIGBUS', 'ENOTTY', 'OK', 'EOPNOTSUPP']);
  }, 60_000);
  it('reports the first call where a bugged stand-in differs', () => {
    const d = runDifferential(PRIVATE_READ, { executor: `${STAND_IN} --bug host-maps-private` });
    expect(d.divergence).toBe(3);
  }, 60_000);
  it('says what a program needs when the kernel lacks its VM type', () => {
    const p = parse('vm0 = KVM_CREATE_VM(type=TDX)\n');
    expect(runDifferential(p, { executor: STAND_IN }).needs).toMatch(/VM type TDX/);
    expect(retypeForKernel(p, KERNEL_DEFAULT_GATES).calls[0].args.type).toEqual({ kind: 'int', value: 0n });
  }, 60_000);
});

describe('capability probing', () => {
  it('derives the kernel profile of the project machines from their probe', () => {
    const facts = {
      kvm: 'OK', 'cap.pre_fault_memory': '0', 'vm.0': 'OK', 'vm.1': 'EINVAL', 'vm.5': 'EINVAL',
      'vm.0.set_memory_attributes': 'ENOTTY', 'vm.0.set_memory_attributes2': 'ENOTTY', 'vm.0.pre_fault': 'EOPNOTSUPP',
      'vm.0.guest': 'reserved slot=32763 gpa=0x400000000000 size=0x205000 bits=48',
    };
    const d = deriveSettings({ release: '6.18', facts });
    expect(d.gates).toEqual(KERNEL_DEFAULT_GATES);
    expect(d.inPlaceConversion).toBe(false);
    expect(d.guestAccess).toBe(true);
  });
  it('derives a TDX host with attributes and pre-fault', () => {
    const facts = {
      kvm: 'OK', 'cap.pre_fault_memory': '1', 'vm.0': 'OK', 'vm.1': 'OK', 'vm.5': 'OK',
      'vm.0.set_memory_attributes': 'EINVAL', 'vm.0.set_memory_attributes2': 'ENOTTY', 'vm.0.pre_fault': 'ENOENT',
      'vm.0.guest': 'unsupported no 1 GiB pages in the guest CPUID: EOPNOTSUPP',
    };
    const d = deriveSettings({ release: '6.18', facts });
    expect(d.gates).toMatchObject({ vmTypes: ['DEFAULT', 'SW_PROTECTED', 'TDX'], memoryAttributes: true, preFault: true, reservedSlot: null, guestBits: null });
    expect(d.guestAccess).toMatch(/1 GiB pages/);
  });
});

describe('kernel fuzzing (in-process model stand-in)', () => {
  it('finds no divergence against a stand-in of the same configuration', () => {
    const r = kernelFuzz({ target: { inProcess: standInTarget() }, seed: 1, runs: 150, maxCalls: 30, corpus: mkdtempSync(join(tmpdir(), 'tdxfuzz-k-')) });
    expect(r.runs).toBe(150);
    expect(r.skipped).toBe(0);
    expect(r.finding?.message).toBeUndefined();
  }, 60_000);
  it('finds, shrinks and saves a divergence with both columns pinned', () => {
    const corpus = mkdtempSync(join(tmpdir(), 'tdxfuzz-k-'));
    const target = { inProcess: standInTarget(['host-maps-private']) };
    const r = kernelFuzz({ target, seed: 1, runs: 300, maxCalls: 30, corpus, shrinkMs: 10_000 });
    expect(r.finding?.kind).toBe('divergence');
    expect(r.finding!.program.calls.length).toBeLessThanOrEqual(5);
    const text = readFileSync(r.finding!.file, 'utf8');
    // The host touching a private page: the model refuses (SIGBUS), the buggy stand-in answers.
    expect(text).toMatch(/HOST_(READ\(m0, offset=0x0\) -> SIGBUS {2}# kernel: 0|WRITE\(m0, offset=0x0, byte=0x[0-9a-f]+\) -> SIGBUS {2}# kernel: OK)/);
    const saved = parse(text);
    expect(runDifferential(saved, target).divergence).toBe(saved.calls.length - 1);
    expect(runDifferential(saved, { inProcess: standInTarget() }).divergence).toBe(-1);
  }, 60_000);
});

const probe = probeKernel();
const kvmReason = probe.unavailable;
if (kvmReason) console.log(`kernel target tests against /dev/kvm skipped: ${kvmReason}`);

describe.skipIf(kvmReason !== undefined)('the real kernel (/dev/kvm)', () => {
  const progs = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.prog')).map((n) => join(dir, n)) : []);
  for (const file of [...progs('corpus/spec'), ...progs('corpus/found')]) {
    it(`${file} agrees or needs what this kernel lacks`, () => {
      const r = parseProgram(readFileSync(file, 'utf8'), file);
      if (!r.ok) throw new Error(r.error.message);
      const d = runDifferential(r.program, {});
      const at = d.steps[d.divergence];
      expect(d.fault, d.fault?.message).toBeUndefined();
      expect(d.divergence, at ? `${at.call.op}: model ${JSON.stringify(at.model)} kernel ${JSON.stringify(at.kernel)}` : '').toBe(-1);
    }, 60_000);
  }
  // A recorded difference keeps its kernel column: the kernel must still answer as pinned.
  for (const file of progs('corpus/kernel')) {
    it(`${file}: the kernel still answers as its # kernel: column says`, () => {
      const r = parseProgram(readFileSync(file, 'utf8'), file);
      if (!r.ok) throw new Error(r.error.message);
      const d = runDifferential(r.program, {});
      if (d.needs) return;
      const pinned = r.program.calls.map((c) => /^kernel: (.*)$/.exec(c.comment?.trim() ?? '')?.[1]);
      expect(d.steps.map((s, i) => (pinned[i] === undefined ? undefined : s.kernel ? answerText(s.kernel) : '-'))).toEqual(pinned);
    }, 60_000);
  }
  it('fuzzes the kernel target for a small budget without a divergence', () => {
    const r = kernelFuzz({ target: {}, seed: 1, runs: 20, maxCalls: 20, corpus: mkdtempSync(join(tmpdir(), 'tdxfuzz-k-')), shrinkMs: 5000 });
    expect(r.unavailable).toBeUndefined();
    expect(r.runs).toBe(20);
    expect(r.finding, r.finding?.message).toBeUndefined();
  }, 120_000);
});
