// The shrinker simplifies arguments one at a time; what it keeps must still
// be a program the parser accepts, or a saved finding could not be replayed.
// A GUEST_ACCESS whose write the shrinker drops to 0 loses its byte too.

import { expect, test } from 'vitest';
import { minimize } from '../../src/fuzz/minimize.js';
import { parseProgram } from '../../src/program/parser.js';
import { printProgram } from '../../src/program/printer.js';
import type { Program } from '../../src/program/types.js';

const TEXT = `# tdxfuzz program v1
# profile: upstream
vm0 = KVM_CREATE_VM(type=DEFAULT)
cpu0 = KVM_CREATE_VCPU(vm0, id=0)
GUEST_ACCESS(cpu0, gpa=0x800000, private=0, write=1, byte=0x5a)
CLOSE(vm0)
`;

test('a write the shrinker takes away takes its byte with it, and the result parses', () => {
  const r = parseProgram(TEXT, 'minimize.prog');
  if (!r.ok) throw new Error(r.error.message);
  // "Fails" (at the access) whenever the access is still there: write and byte do not matter.
  const stillFails = (p: Program) => p.calls.findIndex((c) => c.op === 'GUEST_ACCESS');
  const { program } = minimize(r.program, stillFails);
  const access = program.calls.find((c) => c.op === 'GUEST_ACCESS')!;
  expect(access.args.write).toEqual({ kind: 'int', value: 0n });
  expect('byte' in access.args).toBe(false);
  const again = parseProgram(printProgram(program), 'minimized.prog');
  expect(again.ok, again.ok ? '' : again.error.message).toBe(true);
});
