// The call vocabulary of program-format.md: for every call, its positional
// handles, its keys with their types, and the kind of handle it creates.
// Parser, printer, runner and generators all read this one table.

import { ATTR_FLAGS, FALLOC_FLAGS, GMEM_FLAGS, INIT_MEM_FLAGS, MEMSLOT_FLAGS, VM_TYPES } from '../model/abi.js';
import type { ModelOp } from '../model/exec.js';

// The uAPI flag values live with the model; other layers keep reading them here.
export { ATTR_FLAGS, FALLOC_FLAGS, GMEM_FLAGS, INIT_MEM_FLAGS, MEMSLOT_FLAGS, VM_TYPES };

/** Handle kinds. A call only ever receives a handle of the kind it declares. */
export type HandleKind = 'vm' | 'vcpu' | 'gmem' | 'mapping';

export type ArgType =
  /** An integer in [0, 2^bits - 1]. */
  | { t: 'uint'; bits: 8 | 32 | 64 }
  /** 0 or 1. */
  | { t: 'bool' }
  /** Flag names joined by `|`, `0`, or any u64 mask. */
  | { t: 'flags'; names: Record<string, bigint> }
  /** One name; integers only when `open` (an unknown VM type is a runtime EINVAL). */
  | { t: 'enum'; names: Record<string, bigint>; open: boolean }
  /** A u64 host virtual address, or `mapping+offset`. */
  | { t: 'addr' }
  /** A guest_memfd handle or an integer fd such as -1. */
  | { t: 'gmemOrFd' };

export interface KeySpec {
  type: ArgType;
  optional?: boolean;
}

/** The spec of call `O`; `CallSpec` below is the spec of any call. */
export interface SpecOf<O extends string> {
  op: O;
  /** Positional handle arguments; an array lists the kinds accepted. */
  handles: Array<HandleKind | HandleKind[]>;
  keys: Record<string, KeySpec>;
  /** For calls that create a handle: its kind and the printer's name prefix. */
  creates?: { kind: HandleKind; prefix: string };
  /** TDX-only ioctls (KVM_TDX_*). */
  tdx?: boolean;
}

const u64: KeySpec = { type: { t: 'uint', bits: 64 } };
const u32: KeySpec = { type: { t: 'uint', bits: 32 } };
const bool: KeySpec = { type: { t: 'bool' } };
const optU64: KeySpec = { type: { t: 'uint', bits: 64 }, optional: true };

export const ACCEPT_LEVELS = { '4K': 0n, '2M': 1n } as const;

const tdxCmd = { hw_error: optU64 };

/**
 * Check at compile time that every entry's `op` is its own key, keeping the
 * keys literal so that `Op` below is the union of the call names.
 */
function callTable<T extends { [K in keyof T]: SpecOf<K & string> }>(t: T): T {
  return t;
}

const TABLE = callTable({
  KVM_CREATE_VM: {
    op: 'KVM_CREATE_VM', handles: [],
    keys: { type: { type: { t: 'enum', names: VM_TYPES, open: true } } },
    creates: { kind: 'vm', prefix: 'vm' },
  },
  KVM_CREATE_VCPU: {
    op: 'KVM_CREATE_VCPU', handles: ['vm'], keys: { id: u32 },
    creates: { kind: 'vcpu', prefix: 'cpu' },
  },
  KVM_CREATE_GUEST_MEMFD: {
    op: 'KVM_CREATE_GUEST_MEMFD', handles: ['vm'],
    keys: { size: u64, flags: { type: { t: 'flags', names: GMEM_FLAGS } } },
    creates: { kind: 'gmem', prefix: 'g' },
  },
  KVM_SET_USER_MEMORY_REGION2: {
    op: 'KVM_SET_USER_MEMORY_REGION2', handles: ['vm'],
    keys: {
      slot: u32,
      flags: { type: { t: 'flags', names: MEMSLOT_FLAGS } },
      gpa: u64, size: u64,
      uaddr: { type: { t: 'addr' } },
      gmem: { type: { t: 'gmemOrFd' } },
      offset: u64,
    },
  },
  KVM_SET_MEMORY_ATTRIBUTES: {
    op: 'KVM_SET_MEMORY_ATTRIBUTES', handles: ['vm'],
    keys: { gpa: u64, size: u64, attributes: { type: { t: 'flags', names: ATTR_FLAGS } }, flags: u64 },
  },
  KVM_SET_MEMORY_ATTRIBUTES2: {
    op: 'KVM_SET_MEMORY_ATTRIBUTES2', handles: ['gmem'],
    keys: { offset: u64, size: u64, attributes: { type: { t: 'flags', names: ATTR_FLAGS } }, flags: u64 },
  },
  FALLOCATE: {
    op: 'FALLOCATE', handles: ['gmem'],
    keys: { mode: { type: { t: 'flags', names: FALLOC_FLAGS } }, offset: u64, len: u64 },
  },
  MMAP: {
    op: 'MMAP', handles: ['gmem'], keys: { offset: u64, size: u64, shared: bool },
    creates: { kind: 'mapping', prefix: 'm' },
  },
  MMAP_ANON: {
    op: 'MMAP_ANON', handles: [], keys: { size: u64 },
    creates: { kind: 'mapping', prefix: 'src' },
  },
  MUNMAP: { op: 'MUNMAP', handles: ['mapping'], keys: {} },
  HOST_READ: { op: 'HOST_READ', handles: ['mapping'], keys: { offset: u64 } },
  HOST_WRITE: {
    op: 'HOST_WRITE', handles: ['mapping'],
    keys: { offset: u64, byte: { type: { t: 'uint', bits: 8 } } },
  },
  HOST_PIN: { op: 'HOST_PIN', handles: ['mapping'], keys: { offset: u64 } },
  HOST_UNPIN: { op: 'HOST_UNPIN', handles: ['mapping'], keys: { offset: u64 } },
  CLOSE: { op: 'CLOSE', handles: [['vm', 'vcpu', 'gmem']], keys: {} },
  KVM_TDX_INIT_VM: {
    op: 'KVM_TDX_INIT_VM', handles: ['vm'], tdx: true,
    // gpaw: the guest physical address width userspace puts in CPUID
    // 0x80000008 EAX[23:16] of struct kvm_tdx_init_vm (48 when absent).
    keys: { flags: optU64, gpaw: { type: { t: 'uint', bits: 8 }, optional: true }, ...tdxCmd },
  },
  KVM_TDX_INIT_VCPU: {
    op: 'KVM_TDX_INIT_VCPU', handles: ['vcpu'], tdx: true,
    keys: { flags: optU64, ...tdxCmd },
  },
  KVM_TDX_INIT_MEM_REGION: {
    op: 'KVM_TDX_INIT_MEM_REGION', handles: ['vcpu'], tdx: true,
    keys: {
      source: { type: { t: 'addr' } }, gpa: u64, nr_pages: u64,
      flags: { type: { t: 'flags', names: INIT_MEM_FLAGS } },
      ...tdxCmd,
    },
  },
  KVM_TDX_FINALIZE_VM: {
    op: 'KVM_TDX_FINALIZE_VM', handles: ['vm'], tdx: true,
    keys: { flags: optU64, ...tdxCmd },
  },
  KVM_PRE_FAULT_MEMORY: {
    op: 'KVM_PRE_FAULT_MEMORY', handles: ['vcpu'], keys: { gpa: u64, size: u64, flags: u64 },
  },
  GUEST_ACCESS: {
    op: 'GUEST_ACCESS', handles: ['vcpu'],
    keys: { gpa: u64, private: bool, write: bool, byte: { type: { t: 'uint', bits: 8 }, optional: true } },
  },
  GUEST_ACCEPT: {
    op: 'GUEST_ACCEPT', handles: ['vcpu'],
    keys: { gpa: u64, level: { type: { t: 'enum', names: ACCEPT_LEVELS, open: false } } },
  },
});

/**
 * A call name. Every table keyed by call (handlers, generators, weights,
 * expected errnos, ...) is a `Record<Op, ...>`, so that a new call fails to
 * compile until each of them has its entry.
 */
export type Op = keyof typeof TABLE;

export type CallSpec = SpecOf<Op>;

export const CALLS: { readonly [K in Op]: SpecOf<K> } = TABLE;

/** Every call name, in the table's order. */
export const CALL_NAMES: readonly Op[] = Object.keys(CALLS) as Op[];

/** Whether `name` is a call of the vocabulary (a parser's test before it trusts a name). */
export function isOp(name: string): name is Op {
  return Object.hasOwn(CALLS, name);
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/**
 * Compile-time check that the model has a handler for exactly the calls of
 * the vocabulary: a name on one side only makes this `false` and the line
 * fails to compile.
 */
export const MODEL_RUNS_EVERY_CALL: Same<Op, ModelOp> = true;
