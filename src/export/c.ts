// Export a program as a standalone C reproducer (raw ioctls from
// <linux/kvm.h>) or as a KVM selftest. Each call is followed by a check of
// the result the model produced, naming the step that diverged.

import { CALLS } from '../program/calls.js';
import { printCall, printResult } from '../program/printer.js';
import type { Call, Program, Result, Value } from '../program/types.js';
import { UAPI_PRELUDE } from './uapi_h.js';
import { afterCreateVm, guestAccessStatement, guestHelpers } from '../kernel/export_guest.js';

export type ExportFormat = 'c' | 'selftest';

const hex = (v: bigint) => (v < 0n ? `${v}` : `0x${v.toString(16)}ULL`);
const comment = (s: string) => s.replace(/\*\//g, '* /');

function cValue(v: Value | undefined): string {
  if (!v) return '0';
  if (v.kind === 'int') return hex(v.value);
  if (v.kind === 'handle') return v.name;
  return `((__u64)(uintptr_t)${v.name} + ${hex(v.offset)})`;
}

/** How the result is checked: a value, an errno, a new handle, SIGBUS, or not at all. */
function want(r: Result | undefined): string {
  if (!r) return 'WANT_ANY, 0';
  if (r.kind === 'int') return `WANT_VALUE, ${hex(r.value)}`;
  if (r.kind === 'errno') return `WANT_ERRNO, ${r.name}`;
  if (r.name === 'OK') return 'WANT_OK, 0';
  if (r.name === 'SIGBUS') return 'WANT_SIGBUS, 0';
  if (r.name === 'EXIT_MEMORY_FAULT') return 'WANT_VALUE, GUEST_EXIT_MEMORY_FAULT';
  if (r.name === 'EXIT_MMIO') return 'WANT_VALUE, GUEST_EXIT_MMIO';
  return 'WANT_ANY, 0';
}

function statement(c: Call, p: Program): string[] {
  const a = (k: string) => cValue(c.args[k]);
  const h = c.handles;
  const tdx = (id: string, fd: string, data: string) => [
    `{ struct kvm_tdx_cmd cmd = { .id = ${id}, .flags = ${a('flags')}, .data = (__u64)(uintptr_t)${data}, .hw_error = ${a('hw_error')} };`,
    `  r = sys(ioctl(${fd}, KVM_MEMORY_ENCRYPT_OP, &cmd)); }`,
  ];
  switch (c.op) {
    case 'KVM_CREATE_VM': return [`r = ${c.bind} = sys(ioctl(kvm, KVM_CREATE_VM, ${a('type')}));`, ...afterCreateVm(c, p)];
    case 'KVM_CREATE_VCPU': return [`r = ${c.bind} = sys(ioctl(${h[0]}, KVM_CREATE_VCPU, ${a('id')}));`];
    case 'KVM_CREATE_GUEST_MEMFD': return [
      `{ struct kvm_create_guest_memfd arg = { .size = ${a('size')}, .flags = ${a('flags')} };`,
      `  r = ${c.bind} = sys(ioctl(${h[0]}, KVM_CREATE_GUEST_MEMFD, &arg)); }`];
    case 'KVM_SET_USER_MEMORY_REGION2': return [
      `{ struct kvm_userspace_memory_region2 arg = { .slot = ${a('slot')}, .flags = ${a('flags')}, .guest_phys_addr = ${a('gpa')}, .memory_size = ${a('size')},`,
      `    .userspace_addr = ${a('uaddr')}, .guest_memfd_offset = ${a('offset')}, .guest_memfd = (__u32)${a('gmem')} };`,
      `  r = sys(ioctl(${h[0]}, KVM_SET_USER_MEMORY_REGION2, &arg)); }`];
    case 'KVM_SET_MEMORY_ATTRIBUTES': return [
      `{ struct kvm_memory_attributes arg = { .address = ${a('gpa')}, .size = ${a('size')}, .attributes = ${a('attributes')}, .flags = ${a('flags')} };`,
      `  r = sys(ioctl(${h[0]}, KVM_SET_MEMORY_ATTRIBUTES, &arg)); }`];
    case 'KVM_SET_MEMORY_ATTRIBUTES2': return [
      `{ struct kvm_memory_attributes2 arg = { .offset = ${a('offset')}, .size = ${a('size')}, .attributes = ${a('attributes')}, .flags = ${a('flags')} };`,
      `  r = sys(ioctl(${h[0]}, KVM_SET_MEMORY_ATTRIBUTES2, &arg)); }`];
    case 'FALLOCATE': return [`r = sys(fallocate(${h[0]}, (int)${a('mode')}, (off_t)${a('offset')}, (off_t)${a('len')}));`];
    case 'MMAP': return [
      `${c.bind}_len = (size_t)${a('size')};`,
      `${c.bind} = mmap(NULL, ${c.bind}_len, PROT_READ | PROT_WRITE, ${a('shared')} ? MAP_SHARED : MAP_PRIVATE, ${h[0]}, (off_t)${a('offset')});`,
      `r = ${c.bind} == MAP_FAILED ? -errno : 0;`];
    case 'MMAP_ANON': return [
      `${c.bind}_len = (size_t)${a('size')};`,
      `${c.bind} = mmap(NULL, ${c.bind}_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);`,
      `r = ${c.bind} == MAP_FAILED ? -errno : 0;`];
    case 'MUNMAP': return [`r = sys(munmap(${h[0]}, ${h[0]}_len));`];
    case 'HOST_READ': return [`r = host_read(${h[0]}, ${h[0]}_len, ${a('offset')});`];
    case 'HOST_WRITE': return [`r = host_write(${h[0]}, ${h[0]}_len, ${a('offset')}, (uint8_t)${a('byte')});`];
    case 'HOST_PIN': case 'HOST_UNPIN':
      return [`/* ${c.op}: a long-term GUP pin has no plain syscall; pin through io_uring fixed buffers or a test module. */`, 'r = SKIPPED;'];
    case 'CLOSE': return [`r = sys(close(${h[0]}));`];
    case 'KVM_TDX_INIT_VM': return [
      '/* A real run passes the CPUID that KVM_TDX_CAPABILITIES reported; this buffer is zeroed. */',
      `/* The TD's GPA width goes in CPUID 0x80000008 EAX[23:16]: ${c.args.gpaw?.kind === 'int' ? c.args.gpaw.value : 48n}. */`,
      ...tdx('KVM_TDX_INIT_VM', h[0], 'tdx_init_vm_buf')];
    case 'KVM_TDX_INIT_VCPU': return tdx('KVM_TDX_INIT_VCPU', h[0], '0');
    case 'KVM_TDX_INIT_MEM_REGION': return [
      `{ struct kvm_tdx_init_mem_region region = { .source_addr = ${a('source')}, .gpa = ${a('gpa')}, .nr_pages = ${a('nr_pages')} };`,
      ...tdx('KVM_TDX_INIT_MEM_REGION', h[0], '&region').map((l) => `  ${l}`), '}'];
    case 'KVM_TDX_FINALIZE_VM': return tdx('KVM_TDX_FINALIZE_VM', h[0], '0');
    case 'KVM_PRE_FAULT_MEMORY': return [
      `{ struct kvm_pre_fault_memory arg = { .gpa = ${a('gpa')}, .size = ${a('size')}, .flags = ${a('flags')} };`,
      `  r = sys(ioctl(${h[0]}, KVM_PRE_FAULT_MEMORY, &arg)); }`];
    case 'GUEST_ACCESS': return guestAccessStatement(c, p);
    case 'GUEST_ACCEPT':
      return [`/* ${c.op} is a TDCALL from a TD's guest code, which needs a TD boot image. */`, 'r = SKIPPED;'];
    // A new call fails to compile here until it has its C statement.
    default: return c.op satisfies never;
  }
}

function declarations(p: Program): string[] {
  const out: string[] = [];
  for (const c of p.calls) {
    if (!c.bind) continue;
    const kind = CALLS[c.op].creates?.kind;
    if (kind === 'mapping') out.push(`static uint8_t *${c.bind} = MAP_FAILED;`, `static size_t ${c.bind}_len;`);
    else out.push(`static int ${c.bind} = -1;`);
  }
  return out;
}

const HELPERS = String.raw`enum want { WANT_VALUE, WANT_ERRNO, WANT_OK, WANT_SIGBUS, WANT_ANY };
#define SKIPPED (-100000L)
#define FAULTED (-100001L)
static sigjmp_buf fault_jmp;

static void on_fault(int sig) { siglongjmp(fault_jmp, sig); }
`;

/** Helpers a program may not need: emitted only when its calls use them, so -Wall -Werror accepts every export. */
const OPTIONAL: Array<[RegExp, string]> = [
  [/\btdx_init_vm_buf\b/, 'static __u64 tdx_init_vm_buf[2048];\n'],
  [/\b(__)?sys\(/, String.raw`/* A syscall's result: its value, or -errno. */
static long sys(long r) { return r < 0 ? -errno : r; }
`],
  [/\bhost_read\(/, String.raw`/* A host load of one byte, as tdxfuzz models it: SIGBUS is a result. */
static long host_read(uint8_t *m, size_t len, __u64 off)
{
	if (m == MAP_FAILED || off >= len) return FAULTED;
	if (sigsetjmp(fault_jmp, 1)) return FAULTED;
	return *(volatile uint8_t *)(m + off);
}
`],
  [/\bhost_write\(/, String.raw`/* A host store to one page, as tdxfuzz models it: SIGBUS is a result. */
static long host_write(uint8_t *m, size_t len, __u64 off, uint8_t byte)
{
	if (m == MAP_FAILED || off >= len) return FAULTED;
	if (sigsetjmp(fault_jmp, 1)) return FAULTED;
	memset(m + (off & ~0xfffULL), byte, 4096);
	return 0;
}
`],
];

const C_CHECK = String.raw`static int diverged;

static void check(int step, const char *call, long got, enum want kind, long want)
{
	int ok;

	if (got == SKIPPED) {
		printf("step %d: skipped (%s)\n", step, call);
		return;
	}
	switch (kind) {
	case WANT_VALUE: ok = got == want; break;
	case WANT_ERRNO: ok = got == -want; break;
	case WANT_OK: ok = got >= 0; break;
	case WANT_SIGBUS: ok = got == FAULTED; break;
	default: ok = 1;
	}
	if (!ok) {
		printf("step %d diverged: %s returned %ld, the model says %s%ld\n", step, call, got, kind == WANT_ERRNO ? "-" : "", want);
		diverged = 1;
	}
}
`;

const SELFTEST_CHECK = String.raw`/* A raw call whose failure is the expected result. */
#define __sys(x) sys(x)

static void check(int step, const char *call, long got, enum want kind, long want)
{
	if (got == SKIPPED)
		return;
	switch (kind) {
	case WANT_VALUE: TEST_ASSERT(got == want, "step %d: %s returned %ld, expected %ld", step, call, got, want); break;
	case WANT_ERRNO: TEST_ASSERT(got == -want, "step %d: %s returned %ld, expected -%ld (%s)", step, call, got, want, strerror(want)); break;
	case WANT_OK: TEST_ASSERT(got >= 0, "step %d: %s failed: %ld", step, call, got); break;
	case WANT_SIGBUS: TEST_ASSERT(got == FAULTED, "step %d: %s should have raised SIGBUS", step, call); break;
	default: break;
	}
}
`;

/** Which design the checks pin, and where another design answers differently. */
export interface ExportPins {
  /** What the pinned results are, e.g. "the sound design (upstream, no seeded bugs)". */
  pinned: string;
  /** The other design's label and its results, shown at every step where they differ. */
  other?: { label: string; results: ReadonlyArray<Result | undefined> };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const same = (a: Result | undefined, b: Result | undefined) => (a ? printResult(a) : '') === (b ? printResult(b) : '');

/** The C text of a program; `results[i]` (a replay's actual results) wins over `-> expectations`. */
export function exportProgram(p: Program, format: ExportFormat, results: ReadonlyArray<Result | undefined> = [], pins?: ExportPins): string {
  const selftest = format === 'selftest';
  const differ = pins?.other ? p.calls.map((c, i) => i).filter((i) => !same(results[i] ?? p.calls[i].expect, pins.other!.results[i])) : [];
  const about = pins ? [
    ` * Each call is checked against what ${comment(pins.pinned)} returns.`,
    ...(pins.other ? [differ.length
      ? ` * ${cap(comment(pins.other.label))} answers differently at step${differ.length > 1 ? 's' : ''} ${differ.join(', ')} (its answer is in the comment above ${differ.length > 1 ? 'each' : 'that step'}).`
      : ` * ${cap(comment(pins.other.label))} answers the same at every step.`] : []),
  ] : [' * Each call is checked against the result tdxfuzz\'s model produced.'];
  const lines: string[] = [
    `// SPDX-License-Identifier: GPL-2.0-only`,
    `/*`,
    ` * ${selftest ? 'KVM selftest' : 'Reproducer'} exported by tdxfuzz${p.headers.map(([k, v]) => `\n * ${k}: ${comment(v)}`).join('')}`,
    ` *`,
    ...about,
    ` */`,
    '#define _GNU_SOURCE',
    '#include <errno.h>', '#include <fcntl.h>', '#include <setjmp.h>', '#include <signal.h>', '#include <stdint.h>',
    '#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>', '#include <unistd.h>',
    '#include <linux/falloc.h>', '#include <linux/kvm.h>', '#include <sys/ioctl.h>', '#include <sys/mman.h>',
  ];
  if (selftest) lines.push('', '#include "kvm_util.h"', '#include "test_util.h"');
  const body: string[] = [];
  p.calls.forEach((c, i) => {
    const text = comment(printCall({ ...c, expect: undefined }));
    const r = results[i] ?? c.expect;
    const o = pins?.other?.results[i];
    body.push('', `\t/* ${i}: ${text}${r ? ` -> ${printResult(r)}` : ''}${differ.includes(i) ? ` (${comment(pins!.other!.label)}: ${o ? printResult(o) : 'not reached'})` : ''} */`);
    // Selftest style: a raw __ call where the model expects a failure.
    const raw = selftest && r?.kind === 'errno';
    for (const s of statement(c, p)) body.push(`\t${raw ? s.replace(/\bsys\(/g, '__sys(') : s}`);
    body.push(`\tcheck(${i}, ${JSON.stringify(`${c.op}`)}, r, ${want(r)});`);
  });
  const check = selftest ? SELFTEST_CHECK : C_CHECK;
  const used = body.join('\n');
  // The executor's guest code goes in only when a call needs it, so -Wall -Werror holds.
  const helpers = HELPERS + OPTIONAL.filter(([re]) => re.test(used)).map(([, text]) => `\n${text}`).join('')
    + (/\bguest_(access|vm_created)\(|\bGUEST_EXIT_/.test(used) ? `\n${guestHelpers()}` : '');
  lines.push('', UAPI_PRELUDE, helpers, check, ...declarations(p), '');
  lines.push('int main(void)', '{', '\tstruct sigaction sa = { .sa_handler = on_fault };', '\tlong r;', '\tint kvm;', '');
  lines.push('\tsigaction(SIGBUS, &sa, NULL);', '\tsigaction(SIGSEGV, &sa, NULL);');
  if (selftest) lines.push('\tkvm = open_kvm_dev_path_or_exit();');
  else lines.push('\tkvm = open("/dev/kvm", O_RDWR);', '\tif (kvm < 0) {', '\t\tperror("/dev/kvm");', '\t\treturn 2;', '\t}');
  lines.push(...body);
  lines.push('', '\t(void)kvm;');
  lines.push(selftest ? '\treturn 0;' : '\tif (!diverged)\n\t\tprintf("every step matched the model\\n");\n\treturn diverged;');
  lines.push('}', '');
  return lines.join('\n');
}
