// A tiny driver for model unit tests: run raw calls (fds and bigints, no
// program text) on a fresh world, the way a KVM selftest drives ioctls.

import { execCall, type ExecCall } from '../../src/model/exec.js';
import { PROFILES, type ProfileName } from '../../src/model/profiles.js';
import type { BugName } from '../../src/model/bugs.js';
import { resultText, type Ret } from '../../src/model/result.js';
import { newWorld, type World } from '../../src/model/world.js';

export interface Driver {
  w: World;
  /** Run a call; returns its result. */
  call(op: string, handles: number[], args?: Record<string, bigint | number>, busy?: number): Ret;
  /** Run a call that must create a handle; returns the fd or mapping id. */
  make(op: string, handles: number[], args?: Record<string, bigint | number>): number;
  /** The result as program text (0, EINVAL, OK, SIGBUS, 0x5a...). */
  text(op: string, handles: number[], args?: Record<string, bigint | number>, busy?: number): string;
}

export function driver(profile: ProfileName = 'upstream', bugs: BugName[] = []): Driver {
  const w = newWorld(PROFILES[profile], new Set(bugs));
  const run = (op: string, handles: number[], args: Record<string, bigint | number> = {}, busy?: number): Ret => {
    const a: Record<string, bigint> = {};
    for (const [k, v] of Object.entries(args)) a[k] = BigInt(v);
    const c: ExecCall = { op, handles, args: a, busy };
    const r = execCall(w, c);
    if (r.exception) throw new Error(`model threw: ${r.exception}`);
    return r.ret;
  };
  return {
    w,
    call: run,
    make(op, handles, args) {
      const r = run(op, handles, args);
      if (r.handle === undefined) throw new Error(`${op} did not create a handle: ${resultText(r)}`);
      return r.handle;
    },
    text(op, handles, args, busy) {
      const r = run(op, handles, args, busy);
      return r.kind === 'int' && r.value >= 10n ? `0x${r.value.toString(16)}` : resultText(r);
    },
  };
}

export const VM = { DEFAULT: 0, SW_PROTECTED: 1, TDX: 5 } as const;
export const GMEM = { MMAP: 1, INIT_SHARED: 2, HUGETLB_2M: 8, HUGETLB_1G: 16 } as const;
export const SLOT = { LOG_DIRTY_PAGES: 1, READONLY: 2, GUEST_MEMFD: 4 } as const;
export const PRIVATE = 8;
export const FALLOC = { KEEP_SIZE: 1, PUNCH_HOLE: 2, ZERO_RANGE: 0x10 } as const;
