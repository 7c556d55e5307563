// errno-contract and no-exception: every call returns something documented
// for it, and a call refused by validation changes nothing and issues no
// SEAMCALL (tdx.md §7.22-23).

import type { Errno } from '../model/errno.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { fingerprint } from './before.js';

const COMMON: Errno[] = ['EBADF', 'EIO'];

/** The errnos each call may return (gmem.md, tdx.md, program-format.md). */
export const ALLOWED: Record<string, Errno[]> = {
  KVM_CREATE_VM: ['EINVAL'],
  KVM_CREATE_VCPU: ['EINVAL', 'EEXIST'],
  KVM_CREATE_GUEST_MEMFD: ['EINVAL'],
  KVM_SET_USER_MEMORY_REGION2: ['EINVAL', 'EEXIST'],
  KVM_SET_MEMORY_ATTRIBUTES: ['EINVAL', 'ENOTTY'],
  KVM_SET_MEMORY_ATTRIBUTES2: ['EINVAL', 'EAGAIN', 'ENOTTY'],
  FALLOCATE: ['EINVAL', 'EOPNOTSUPP', 'EFBIG'],
  MMAP: ['EINVAL', 'ENODEV', 'ENOMEM', 'EOVERFLOW'],
  MMAP_ANON: ['EINVAL', 'ENOMEM', 'EOVERFLOW'],
  MUNMAP: ['EINVAL'],
  HOST_READ: [], HOST_WRITE: [],
  HOST_PIN: ['EFAULT'], HOST_UNPIN: ['EINVAL'],
  CLOSE: [],
  KVM_TDX_INIT_VM: ['EINVAL', 'EBUSY', 'ENOTTY'],
  KVM_TDX_INIT_VCPU: ['EINVAL', 'ENOTTY'],
  KVM_TDX_INIT_MEM_REGION: ['EINVAL', 'EFAULT', 'EEXIST', 'EBUSY', 'EINTR', 'ENOTTY'],
  KVM_TDX_FINALIZE_VM: ['EINVAL', 'EBUSY', 'ENOTTY'],
  KVM_PRE_FAULT_MEMORY: ['EINVAL', 'ENOENT', 'EOPNOTSUPP', 'EFAULT'],
  GUEST_ACCESS: ['EINVAL'],
  GUEST_ACCEPT: ['EINVAL'],
};

/** Calls that may change state before failing (partial progress, SEAMCALL failures, killed guests). */
const MAY_FAIL_AFTER_PROGRESS = new Set(['KVM_TDX_INIT_MEM_REGION', 'KVM_PRE_FAULT_MEMORY', 'GUEST_ACCESS', 'GUEST_ACCEPT', 'KVM_TDX_INIT_VM', 'KVM_TDX_INIT_VCPU', 'KVM_TDX_FINALIZE_VM']);

export const errnoContract: Invariant = {
  id: 'errno-contract',
  summary: 'Each call returns 0, a handle, an outcome or a documented errno; a call that fails validation changes no state and issues no SEAMCALL.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    if (c.exception || c.ret.kind !== 'errno') return out;
    const allowed = [...COMMON, ...(ALLOWED[c.call.op] ?? [])];
    if (!allowed.includes(c.ret.name)) out.push({ invariant: this.id, message: `${c.call.op} returned ${c.ret.name}; documented: ${allowed.join(', ')}` });
    const progressed = c.step.seamcall.log.length > 0 || c.step.populated.length > 0;
    if (MAY_FAIL_AFTER_PROGRESS.has(c.call.op) && (progressed || c.ret.name !== 'EINVAL')) return out;
    if (c.step.seamcall.log.length > 0) out.push({ invariant: this.id, message: `${c.call.op} failed with ${c.ret.name} after issuing ${c.step.seamcall.log[0].name}` });
    if (fingerprint(c.world) !== c.before.fingerprint) out.push({ invariant: this.id, message: `${c.call.op} failed with ${c.ret.name} but changed the model's state` });
    return out;
  },
};

export const noException: Invariant = {
  id: 'no-exception',
  summary: 'The model never throws, whatever the arguments.',
  check(c: CheckCtx): Violation[] {
    return c.exception ? [{ invariant: this.id, message: `${c.call.op} threw ${c.exception}` }] : [];
  },
};
