// Parser errors as a table (each row: text, expected line:col, expected
// message part), and every call of the vocabulary parsing with all its keys.

import { describe, expect, test } from 'vitest';
import { parseProgram, formatParseError } from '../../src/program/parser.js';
import { printCall } from '../../src/program/printer.js';
import { CALL_NAMES, CALLS, type CallSpec } from '../../src/program/calls.js';

const PRE = 'vm0 = KVM_CREATE_VM(type=TDX)\ng0 = KVM_CREATE_GUEST_MEMFD(vm0, size=0x1000, flags=0)\ncpu0 = KVM_CREATE_VCPU(vm0, id=0)\nm0 = MMAP_ANON(size=0x1000)\n';

const rows: Array<[string, string, string, string]> = [
  ['unknown call', 'KVM_FOO(vm0)', '5:1', "unknown call 'KVM_FOO'"],
  ['unknown key', 'KVM_CREATE_GUEST_MEMFD(vm0, sizee=1, flags=0)', '5:29', "unknown key 'sizee' for KVM_CREATE_GUEST_MEMFD (expected one of: size, flags)"],
  ['missing key', 'KVM_CREATE_GUEST_MEMFD(vm0, size=0x1000)', '5:', "missing key 'flags'"],
  ['duplicate key', 'KVM_CREATE_GUEST_MEMFD(vm0, size=1, size=2, flags=0)', '5:37', "duplicate key 'size'"],
  ['handle of the wrong kind', 'FALLOCATE(vm0, mode=KEEP_SIZE, offset=0, len=0x1000)', '5:11', "handle 'vm0' is a vm, expected gmem"],
  ['u8 out of range', 'HOST_WRITE(m0, offset=0, byte=0x1ff)', '5:31', "value 0x1ff out of range for u8 'byte'"],
  ['gpaw out of range', 'KVM_TDX_INIT_VM(vm0, gpaw=256)', '5:', "value 0x100 out of range for u8 'gpaw'"],
  ['u64 out of range', 'KVM_CREATE_GUEST_MEMFD(vm0, size=0x10000000000000000, flags=0)', '5:34', 'out of range for u64'],
  ['negative u64', 'KVM_CREATE_GUEST_MEMFD(vm0, size=-1, flags=0)', '5:34', 'out of range'],
  ['unknown handle', 'KVM_TDX_INIT_VM(vm7)', '5:17', "unknown handle 'vm7'"],
  ['unknown flag', 'KVM_CREATE_GUEST_MEMFD(vm0, size=1, flags=MMAPP)', '5:43', "unknown flag 'MMAPP' for 'flags' (expected MMAP, INIT_SHARED, HUGETLB_2M, HUGETLB_1G)"],
  ['byte without write=1', 'GUEST_ACCESS(cpu0, gpa=0, private=1, write=0, byte=1)', '5:', "'byte' is only allowed with write=1"],
  ['unknown version', '# tdxfuzz program v2\nKVM_CREATE_VM(type=TDX)', '1:1', "unknown program version 'v2' (this tdxfuzz reads v1)"],
  ['missing paren', 'KVM_TDX_INIT_VM(vm0', '5:', "expected ',' or ')'"],
  ['missing open paren', 'KVM_TDX_INIT_VM vm0)', '5:17', "expected '(' after KVM_TDX_INIT_VM"],
  ['garbage after call', 'KVM_TDX_INIT_VM(vm0) junk', '5:22', "expected '->', '#' or end of line"],
  ['bad result', 'KVM_TDX_INIT_VM(vm0) -> EWHAT', '5:25', 'expected a result'],
  ['bind on a non-creating call', 'x = KVM_TDX_INIT_VM(vm0)', '5:1', 'does not create a handle'],
  ['rebinding a name', 'vm0 = KVM_CREATE_VM(type=TDX)', '5:1', "handle 'vm0' is already bound"],
  ['bad name', 'VM0 = KVM_CREATE_VM(type=TDX)', '5:1', 'must match [a-z][a-z0-9]*'],
  ['handle after key', 'KVM_SET_MEMORY_ATTRIBUTES2(offset=0, g0, size=0x1000, attributes=0, flags=0)', '5:38', 'must come before the key=value arguments'],
  ['too many handles', 'KVM_TDX_INIT_VM(vm0, vm0)', '5:22', 'takes 1 handle(s)'],
  ['too few handles', 'KVM_CREATE_VCPU(id=0)', '5:', 'needs 1 handle(s)'],
  ['closed enum as integer', 'GUEST_ACCEPT(cpu0, gpa=0, level=1)', '5:33', 'expected one of 4K, 2M'],
  ['unknown enum name', 'KVM_CREATE_VM(type=SEV)', '5:20', "unknown value 'SEV' for 'type'"],
  ['bool out of range', 'MMAP(g0, offset=0, size=0x1000, shared=2)', '5:40', "out of range for 0|1 'shared'"],
  ['busy zero', 'KVM_TDX_INIT_VM(vm0) [busy=0]', '5:', 'positive integer N in [busy=N]'],
  ['addr with a non-mapping', 'KVM_TDX_INIT_MEM_REGION(cpu0, source=g0+0x10, gpa=0, nr_pages=1, flags=0)', '5:38', "handle 'g0' is a gmem, expected mapping"],
  ['version after a call', 'KVM_CREATE_VM(type=TDX)\n# tdxfuzz program v1', '6:1', 'version line must come before'],
];

describe('parse errors', () => {
  test.each(rows)('%s', (_name, text, where, message) => {
    const r = parseProgram(text.startsWith('#') ? text : PRE + text, 'p.prog');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(`${r.error.line}:${r.error.col}`.startsWith(where)).toBe(true);
    expect(r.error.message).toContain(message);
    expect(formatParseError(r.error)).toMatch(/^p\.prog:\d+:\d+: /);
  });
});

describe('every call of the vocabulary parses with all its keys', () => {
  const sample: Record<string, string> = {
    uint: '1', bool: '1', flags: '0', enum: '', addr: 'm0+0x10', gmemOrFd: 'g0',
  };
  test.each(CALL_NAMES)('%s', (op) => {
    const spec: CallSpec = CALLS[op];
    const handles = spec.handles.map((h) => {
      const k = Array.isArray(h) ? h[0] : h;
      return { vm: 'vm0', vcpu: 'cpu0', gmem: 'g0', mapping: 'm0' }[k];
    });
    const keys = Object.entries(spec.keys).map(([k, ks]) => {
      const t = ks.type;
      const v = t.t === 'enum' ? Object.keys(t.names)[0] : sample[t.t];
      return `${k}=${v}`;
    });
    const r = parseProgram(`${PRE}${op}(${[...handles, ...keys].join(', ')})`);
    if (!r.ok) throw new Error(formatParseError(r.error));
    const call = r.program.calls[4];
    expect(call.op).toBe(op);
    expect(Object.keys(call.args).sort()).toEqual(Object.keys(spec.keys).sort());
  });
});

describe('KVM_TDX_INIT_VM gpaw', () => {
  test('is optional (programs without it keep parsing) and prints in decimal', () => {
    for (const [text, gpaw] of [['KVM_TDX_INIT_VM(vm0)', undefined], ['KVM_TDX_INIT_VM(vm0, gpaw=52)', 52n], ['KVM_TDX_INIT_VM(vm0, gpaw=0x30)', 48n]] as const) {
      const r = parseProgram(PRE + text);
      if (!r.ok) throw new Error(formatParseError(r.error));
      const call = r.program.calls[4];
      expect(call.args.gpaw).toEqual(gpaw === undefined ? undefined : { kind: 'int', value: gpaw });
      expect(printCall(call)).toBe(gpaw === undefined ? text : `KVM_TDX_INIT_VM(vm0, gpaw=${gpaw})`);
    }
  });
});
