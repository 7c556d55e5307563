// Invariant family "seamcalls": every invariant in it is tripped by a seeded bug
// that the fuzzer finds from a fixed seed, shrunk to a 1-minimal program that
// is clean once the bug is removed.

import { describe } from 'vitest';
import { huntTests } from './hunt.js';

describe('seamcalls invariants are live', () => {
  huntTests(['no-double-add', 'removal-order', 'hugepage-folio-agnostic']);
});
