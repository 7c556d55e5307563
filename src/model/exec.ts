// The model's single entry point: run one call with resolved arguments and
// return its result. Every argument value is accepted; the model never
// throws to its caller (a thrown exception is caught here and reported, so
// the no-exception invariant can flag it).

import { err, type Ret } from './result.js';
import { newStepCtx, type StepCtx, type StepTrace, type World } from './world.js';
import { kvmCreateVcpu, kvmCreateVm, closeFd } from './uapi/vm.js';
import { fallocate, kvmCreateGuestMemfd } from './uapi/gmem.js';
import { setUserMemoryRegion2 } from './uapi/memslot.js';
import { setMemoryAttributes, setMemoryAttributes2 } from './uapi/attributes.js';
import { hostPin, hostRead, hostUnpin, hostWrite, mmapAnon, mmapGmem, munmap } from './uapi/host.js';
import { guestAccept, guestAccess, preFaultMemory } from './uapi/guest.js';
import { tdxFinalizeIoctl, tdxInitMemRegionIoctl, tdxInitVcpuIoctl, tdxInitVmIoctl } from './uapi/tdx.js';

/**
 * A call with its handles resolved to fds (or mapping ids) and addresses to
 * host virtual addresses. Any name is accepted (an unknown one is ENOTTY);
 * callers that hold a parsed program narrow `O` to the vocabulary's names.
 */
export interface ExecCall<O extends string = string> {
  op: O;
  /** One entry per positional handle: an fd, a mapping id, or -1 for a handle that never existed. */
  handles: number[];
  args: Record<string, bigint>;
  busy?: number;
}

export interface ExecResult {
  ret: Ret;
  step: StepCtx;
  /** Set when the model threw: a model defect, reported as no-exception. */
  exception?: string;
}

type Handler = (w: World, h: number[], a: Record<string, bigint>) => Ret;

const opt = (v: bigint | undefined): bigint => v ?? 0n;

const HANDLERS = {
  KVM_CREATE_VM: (w, _h, a) => kvmCreateVm(w, a.type),
  KVM_CREATE_VCPU: (w, h, a) => kvmCreateVcpu(w, h[0], a.id),
  KVM_CREATE_GUEST_MEMFD: (w, h, a) => kvmCreateGuestMemfd(w, h[0], a.size, a.flags),
  KVM_SET_USER_MEMORY_REGION2: (w, h, a) => setUserMemoryRegion2(w, h[0], {
    slot: a.slot, flags: a.flags, gpa: a.gpa, size: a.size, uaddr: a.uaddr, gmemFd: a.gmem, offset: a.offset,
  }),
  KVM_SET_MEMORY_ATTRIBUTES: (w, h, a) => setMemoryAttributes(w, h[0], { start: a.gpa, size: a.size, attributes: a.attributes, flags: a.flags }),
  KVM_SET_MEMORY_ATTRIBUTES2: (w, h, a) => setMemoryAttributes2(w, h[0], { start: a.offset, size: a.size, attributes: a.attributes, flags: a.flags }),
  FALLOCATE: (w, h, a) => fallocate(w, h[0], a.mode, a.offset, a.len),
  MMAP: (w, h, a) => mmapGmem(w, h[0], a.offset, a.size, a.shared !== 0n),
  MMAP_ANON: (w, _h, a) => mmapAnon(w, a.size),
  MUNMAP: (w, h) => munmap(w, h[0]),
  HOST_READ: (w, h, a) => hostRead(w, h[0], a.offset),
  HOST_WRITE: (w, h, a) => hostWrite(w, h[0], a.offset, a.byte),
  HOST_PIN: (w, h, a) => hostPin(w, h[0], a.offset),
  HOST_UNPIN: (w, h, a) => hostUnpin(w, h[0], a.offset),
  CLOSE: (w, h) => closeFd(w, h[0]),
  // A program without gpaw= passes the CPUID of a 4-level (GPAW 48) TD.
  KVM_TDX_INIT_VM: (w, h, a) => tdxInitVmIoctl(w, h[0], { flags: opt(a.flags), hwError: opt(a.hw_error), gpaw: a.gpaw ?? 48n }),
  KVM_TDX_INIT_VCPU: (w, h, a) => tdxInitVcpuIoctl(w, h[0], { flags: opt(a.flags), hwError: opt(a.hw_error) }),
  KVM_TDX_INIT_MEM_REGION: (w, h, a) => tdxInitMemRegionIoctl(w, h[0], {
    source: a.source, gpa: a.gpa, nrPages: a.nr_pages, flags: a.flags, hwError: opt(a.hw_error),
  }),
  KVM_TDX_FINALIZE_VM: (w, h, a) => tdxFinalizeIoctl(w, h[0], { flags: opt(a.flags), hwError: opt(a.hw_error) }),
  KVM_PRE_FAULT_MEMORY: (w, h, a) => preFaultMemory(w, h[0], a.gpa, a.size, a.flags),
  GUEST_ACCESS: (w, h, a) => guestAccess(w, h[0], { gpa: a.gpa, private: a.private !== 0n, write: a.write !== 0n, byte: a.byte }),
  GUEST_ACCEPT: (w, h, a) => guestAccept(w, h[0], a.gpa, a.level),
} satisfies Record<string, Handler>;

/**
 * The calls the model runs. src/program/calls.ts checks at compile time that
 * this is exactly the vocabulary, so a call cannot be added to one side only.
 */
export type ModelOp = keyof typeof HANDLERS;

const BY_NAME: Readonly<Record<string, Handler | undefined>> = HANDLERS;

/** Run one call; `trace` listens to the step's tracepoints (the checking runner's, absent for a bare run). */
export function execCall(w: World, call: ExecCall, trace?: StepTrace): ExecResult {
  w.step = newStepCtx(call.busy, trace);
  const handler = Object.hasOwn(BY_NAME, call.op) ? BY_NAME[call.op] : undefined;
  if (!handler) return { ret: err('ENOTTY'), step: w.step };
  try {
    return { ret: handler(w, call.handles, call.args), step: w.step };
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ret: err('EIO'), step: w.step, exception: msg };
  }
}

export const MODEL_OPS = Object.keys(HANDLERS);
