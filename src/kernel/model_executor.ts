// A stand-in executor that speaks the executor's protocol but answers from
// the model (profile `kernel`, optional seeded bugs). It lets the driver,
// replay and the kernel fuzzer be tested where /dev/kvm is missing: with a
// seeded bug it diverges from the plain model exactly where that bug does.
// It is never used unless named with --executor.

import { createInterface } from 'node:readline';
import { execCall } from '../model/exec.js';
import { isBugName, type BugName } from '../model/bugs.js';
import { PROFILES } from '../model/profiles.js';
import { printResult } from '../program/printer.js';
import { newWorld, type World } from '../model/world.js';

const NOWHERE = 0xdead000000000000n;

export function standInProbe(): string[] {
  const g = PROFILES.kernel.settings.kernel!;
  const lines = ['P release model-stand-in', 'P kvm OK', 'P api 12'];
  for (const [name, n] of [['DEFAULT', 0], ['SW_PROTECTED', 1], ['TDX', 5]] as const) lines.push(`P vm.${n} ${g.vmTypes.includes(name) ? 'OK' : 'EINVAL'}`);
  lines.push(`P vm.0.set_memory_attributes ${g.memoryAttributes ? 'EINVAL' : 'ENOTTY'}`);
  lines.push(`P vm.0.set_memory_attributes2 ${PROFILES.kernel.settings.inPlaceConversion ? 'EINVAL' : 'ENOTTY'}`);
  lines.push(`P vm.0.pre_fault ${g.preFault ? '0' : 'EOPNOTSUPP'}`);
  const r = g.reservedSlot;
  lines.push(r ? `P vm.0.guest reserved slot=${r.slot} gpa=0x${r.gpa.toString(16)} size=0x${r.size.toString(16)} bits=${g.guestBits ?? 48}` : 'P vm.0.guest unsupported none');
  return lines;
}

/** Answer one protocol line against `w`; `names` maps program names to model handles. */
export function standInLine(w: World, names: Map<string, number>, line: string): string {
  const [op, ...toks] = line.split(' ');
  const handles: number[] = [];
  const args: Record<string, bigint> = {};
  let bind: string | undefined;
  for (const t of toks) {
    if (t.startsWith('h:')) handles.push(names.get(t.slice(2)) ?? -1);
    else if (t.startsWith('=')) bind = t.slice(1);
    else {
      const [k, v] = t.split('=');
      const m = /^@([a-z0-9]+)\+(\d+)$/.exec(v);
      if (m) {
        const map = w.mappings.get(names.get(m[1]) ?? -1);
        args[k] = (map ? map.va : NOWHERE) + BigInt(m[2]);
      } else args[k] = BigInt(v);
    }
  }
  if (op === 'KVM_SET_USER_MEMORY_REGION2' && handles.length > 1) args.gmem = BigInt(handles.pop()!);
  const r = execCall(w, { op, handles, args }).ret;
  if (bind) names.set(bind, r.handle ?? -1);
  return r.handle !== undefined ? `R OK ${r.handle}` : r.kind === 'int' ? `R ${r.value}` : `R ${printResult(r)}`;
}

/** The stand-in as an in-process target: a fresh model per program, as a fresh executor would be. */
export function standInTarget(bugs: BugName[] = []): (lines: string[]) => string[] {
  return (lines) => {
    const w = newWorld(PROFILES.kernel, new Set(bugs));
    const names = new Map<string, number>();
    const out: string[] = [];
    for (const l of lines) {
      if (l === 'PROBE') out.push(...standInProbe(), 'R 0');
      else out.push(standInLine(w, names, l));
    }
    return out;
  };
}

export async function standInMain(argv: string[]): Promise<void> {
  const bugs = argv.filter((a, i) => argv[i - 1] === '--bug' && isBugName(a)) as BugName[];
  let w = newWorld(PROFILES.kernel, new Set(bugs));
  let names = new Map<string, number>();
  process.stdout.write('HELLO tdxfuzz-executor 1 kvm=OK\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'QUIT') break;
    if (line === 'PROBE') process.stdout.write(`${standInProbe().join('\n')}\nR 0\n`);
    else if (line === 'RESET') {
      w = newWorld(PROFILES.kernel, new Set(bugs));
      names = new Map();
      process.stdout.write('R 0\n');
    } else process.stdout.write(`${standInLine(w, names, line)}\n`);
  }
}
