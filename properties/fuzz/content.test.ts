// Invariant family "content": content-integrity, checked against the oracle's
// reference state, is tripped by a seeded bug the fuzzer finds from a fixed
// seed, shrunk to a 1-minimal program that is clean once the bug is removed.

import { describe } from 'vitest';
import { huntTests } from './hunt.js';

describe('content invariants are live', () => {
  huntTests(['content-integrity']);
});
