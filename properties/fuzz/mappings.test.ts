// Invariant family "mappings": every invariant in it is tripped by a seeded bug
// that the fuzzer finds from a fixed seed, shrunk to a 1-minimal program that
// is clean once the bug is removed.

import { describe } from 'vitest';
import { huntTests } from './hunt.js';

describe('mappings invariants are live', () => {
  huntTests(['no-dangling-sept', 'mirror-sept-agree', 'pfn-single-owner', 'attr-consistency']);
});
