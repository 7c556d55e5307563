// Invariant family "contract": every invariant in it is tripped by a seeded bug
// that the fuzzer finds from a fixed seed, shrunk to a 1-minimal program that
// is clean once the bug is removed.

import { describe, expect, test } from 'vitest';
import { documented } from '../../src/invariants/errno_contract.js';
import { CALL_NAMES, CALLS } from '../../src/program/calls.js';
import { huntTests } from './hunt.js';

describe('contract invariants are live', () => {
  huntTests(['errno-contract', 'no-exception']);
});

describe('documented errnos', () => {
  test('EBADF only where a handle is a file descriptor, EIO only from the VM and vCPU ioctl gate', () => {
    // Mapping handles are addresses; guest_memfd and host calls have no bugged-VM gate.
    for (const op of ['MUNMAP', 'HOST_PIN', 'HOST_UNPIN'] as const) expect(documented(op)).not.toContain('EBADF');
    for (const op of ['MMAP_ANON', 'MUNMAP', 'HOST_PIN', 'FALLOCATE', 'KVM_SET_MEMORY_ATTRIBUTES2', 'MMAP', 'CLOSE', 'KVM_CREATE_VM'] as const) expect(documented(op)).not.toContain('EIO');
    // The invariant's own list of calls without a file descriptor agrees with the vocabulary.
    for (const op of CALL_NAMES) {
      const fd = CALLS[op].handles.some((h) => (Array.isArray(h) ? h : [h]).some((k) => k !== 'mapping'));
      expect(documented(op).includes('EBADF'), op).toBe(fd);
    }
    for (const op of ['KVM_SET_USER_MEMORY_REGION2', 'KVM_CREATE_GUEST_MEMFD', 'KVM_TDX_INIT_VCPU', 'GUEST_ACCESS'] as const) expect(documented(op)).toContain('EIO');
    expect(documented('HOST_READ')).toEqual([]);
    // A vCPU of a VM that is not a TD: EINVAL (vt_vcpu_mem_enc_ioctl()); a VM that is not a TD: ENOTTY.
    expect(documented('KVM_TDX_INIT_VCPU')).not.toContain('ENOTTY');
    expect(documented('KVM_TDX_INIT_VM')).toContain('ENOTTY');
  });
});
