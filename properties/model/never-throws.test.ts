// The model never throws, whatever the arguments: random calls over the
// whole vocabulary, with u64 extremes and stale or bogus handles, under every
// profile.

import { test as fcTest, fc } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { execCall } from '../../src/model/exec.js';
import { PROFILE_NAMES, PROFILES } from '../../src/model/profiles.js';
import { CALL_NAMES, CALLS } from '../../src/program/calls.js';
import { newWorld } from '../../src/model/world.js';

const U64 = (1n << 64n) - 1n;
const interesting = fc.oneof(
  fc.constantFrom(0n, 1n, 0x1000n, 0x200000n, 0x40000000n, 1n << 47n, 1n << 52n, 1n << 63n, U64, U64 - 0xfffn, 5n, 8n, 48n, 52n),
  fc.bigInt({ min: 0n, max: U64 }),
  fc.bigInt({ min: 0n, max: 0x1000000n }).map((v) => v << 12n),
);
const callArb = fc.record({
  op: fc.constantFrom(...CALL_NAMES),
  handles: fc.array(fc.integer({ min: -2, max: 40 }), { minLength: 1, maxLength: 1 }),
  args: fc.dictionary(fc.constantFrom('type', 'id', 'size', 'flags', 'slot', 'gpa', 'uaddr', 'gmem', 'offset', 'attributes', 'mode', 'len', 'shared', 'byte', 'source', 'nr_pages', 'private', 'write', 'level', 'hw_error', 'gpaw'), interesting),
  busy: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
});

describe('the model never throws', () => {
  fcTest.prop([fc.constantFrom(...PROFILE_NAMES), fc.array(callArb, { maxLength: 40 })], { numRuns: Number(process.env.FUZZ_RUNS ?? 200), seed: Number(process.env.FUZZ_SEED ?? 7) })(
    'random calls with extreme arguments',
    (profile, calls) => {
      const w = newWorld(PROFILES[profile], new Set());
      for (const c of calls) {
        // Missing keys default to 0, as a zeroed ioctl struct would; optional
        // ones stay absent, as in a program that leaves them out.
        const args: Record<string, bigint> = {};
        for (const [k, ks] of Object.entries(CALLS[c.op].keys)) if (c.args[k] !== undefined || !ks.optional) args[k] = c.args[k] ?? 0n;
        const r = execCall(w, { op: c.op, handles: c.handles, args, busy: c.busy });
        expect(r.exception).toBeUndefined();
      }
    },
  );
});
