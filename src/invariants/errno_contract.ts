// errno-contract and no-exception: every call returns something documented
// for it, and a call that fails changes no state and issues no SEAMCALL
// (tdx.md §7.22-23), except where the kernel documents partial progress.
//
// "No state" is the whole model: the state is serialised canonically before
// and after the call (digest.ts) and the two images are compared exactly, so
// no change can hide in a part a hand-picked summary leaves out. Every failed
// call is checked against the whole state, so CheckCtx.full changes nothing.

import type { Errno } from '../model/errno.js';
import type { Op } from '../program/calls.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { changedParts, sameState } from './digest.js';
import { imageAfter, NEVER_ERRNO } from './image.js';
import { reporter } from './reporter.js';
import { targetVm, VCPU_IOCTLS, VM_IOCTLS } from './util.js';
import { pagesAt, rootLeafAt } from '../model/view.js';

/** The errnos each call may return (gmem.md, tdx.md, program-format.md). */
export const ALLOWED: Record<Op, Errno[]> = {
  KVM_CREATE_VM: ['EINVAL'],
  KVM_CREATE_VCPU: ['EINVAL', 'EEXIST'],
  KVM_CREATE_GUEST_MEMFD: ['EINVAL'],
  KVM_SET_USER_MEMORY_REGION2: ['EINVAL', 'EEXIST'],
  KVM_SET_MEMORY_ATTRIBUTES: ['EINVAL', 'ENOTTY'],
  KVM_SET_MEMORY_ATTRIBUTES2: ['EINVAL', 'EAGAIN', 'ENOTTY'],
  FALLOCATE: ['EINVAL', 'EOPNOTSUPP', 'EFBIG'],
  MMAP: ['EINVAL', 'ENODEV', 'ENOMEM', 'EOVERFLOW'],
  // An anonymous mapping has offset 0, so its page offset cannot overflow.
  MMAP_ANON: ['EINVAL', 'ENOMEM'],
  MUNMAP: ['EINVAL'],
  HOST_READ: [], HOST_WRITE: [],
  HOST_PIN: ['EFAULT'], HOST_UNPIN: ['EINVAL'],
  CLOSE: [],
  KVM_TDX_INIT_VM: ['EINVAL', 'EBUSY', 'ENOTTY'],
  // A vCPU of a VM that is not a TD answers EINVAL (vt_vcpu_mem_enc_ioctl()), never ENOTTY.
  KVM_TDX_INIT_VCPU: ['EINVAL'],
  KVM_TDX_INIT_MEM_REGION: ['EINVAL', 'EFAULT', 'EEXIST', 'EBUSY', 'EINTR'],
  KVM_TDX_FINALIZE_VM: ['EINVAL', 'EBUSY', 'ENOTTY'],
  KVM_PRE_FAULT_MEMORY: ['EINVAL', 'ENOENT', 'EOPNOTSUPP', 'EFAULT'],
  GUEST_ACCESS: ['EINVAL'],
  GUEST_ACCEPT: ['EINVAL'],
};

/**
 * Every errno a call may return: its own, EBADF where a handle is a file
 * descriptor (a mapping handle is an address: what it does not name is
 * EINVAL, EFAULT or SIGBUS), and EIO where the call is a VM or vCPU ioctl,
 * whose gate answers EIO for a bugged or dead VM.
 */
export function documented(op: Op): Errno[] {
  if (NEVER_ERRNO.has(op)) return [];
  const gate = VM_IOCTLS.has(op) || VCPU_IOCTLS.has(op);
  return [...(NO_FD.has(op) ? [] : ['EBADF' as const]), ...(gate ? ['EIO' as const] : []), ...ALLOWED[op]];
}

/** Calls that take no file descriptor: none at all, or a mapping (program-format.md). */
const NO_FD: ReadonlySet<Op> = new Set<Op>(['KVM_CREATE_VM', 'MMAP_ANON', 'MUNMAP', 'HOST_READ', 'HOST_WRITE', 'HOST_PIN', 'HOST_UNPIN']);

/**
 * Why this failed call may have changed state or issued SEAMCALLs, from what
 * the kernel documents as partial progress; undefined when it may not.
 */
function partialProgress(c: CheckCtx, e: Errno): string | undefined {
  const log = c.step.seamcall.log;
  // TDX_BUG_ON: the VM is bugged by the failing SEAMCALL itself and the call
  // answers EIO with whatever the path did before it (tdx.md §3.3, §7.16).
  // A guest run (GUEST_ACCESS, GUEST_ACCEPT stand for KVM_RUN) handles EPT
  // violations, mapping pages, until the guest does something that kills it
  // (touching a PENDING page with SEPT_VE_DISABLE); the run then answers EIO
  // for a dead VM, keeping the work done (tdx_handle_ept_violation()).
  if (e === 'EIO') {
    for (const vm of c.world.vms.values()) {
      const b = c.before.vms.get(vm.id);
      if (vm.bugged && !b?.bugged) return `vm${vm.id} was bugged`;
      if (vm.dead && !b?.dead && (c.call.op === 'GUEST_ACCESS' || c.call.op === 'GUEST_ACCEPT')) return `vm${vm.id} was killed`;
    }
  }
  if (c.call.op === 'KVM_TDX_INIT_MEM_REGION') {
    // tdx_vcpu_init_mem_region() stops at the first error (EINTR for a
    // pending signal included) and copies back the region advanced by the
    // pages already added: those pages stay added and measured (tdx.md §7.22).
    const left = c.step.out.nr_pages;
    if (left !== undefined && c.call.args.nr_pages !== undefined && left < c.call.args.nr_pages) return 'pages were added before the error';
    // G1 pre-maps the leaf, then issues PAGE.ADD outside mmu_lock, then the
    // MR.EXTENDs; a failure of either reaches userspace as EBUSY or EIO and
    // leaves the pre-mapped or added page behind (tdx.md §2.3, G1 deltas).
    if (c.world.profile.settings.generation === 'G1' && log.some((r) => (r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MR.EXTEND') && r.status !== 'TDX_SUCCESS')) return 'G1 PAGE.ADD or MR.EXTEND failed';
  }
  return undefined;
}

/** Failures that issue a SEAMCALL but change nothing: KVM hands the module's BUSY back to userspace. */
function busyReturned(c: CheckCtx, e: Errno): boolean {
  // tdx_td_finalize(): TDH.MR.FINALIZE BUSY is EBUSY, retryable, state unchanged (tdx.md §2.5).
  const log = c.step.seamcall.log;
  return e === 'EBUSY' && c.call.op === 'KVM_TDX_FINALIZE_VM' && log.length === 1 && log[0].name === 'TDH.MR.FINALIZE' && log[0].status === 'TDX_OPERAND_BUSY';
}

/** A call whose arguments alone decide that it fails (oracle/args.ts) fails, with the errno they decide. */
function refusedByArguments(c: CheckCtx, out: Violation[]): void {
  const must = c.ref.now.refused;
  if (!must) return;
  const r = c.ret;
  if (r.kind !== 'errno') {
    out.push({ invariant: 'errno-contract', message: `${c.call.op} succeeded, but ${must.why}` });
    return;
  }
  if (must.errnos !== 'any' && !must.errnos.includes(r.name)) out.push({ invariant: 'errno-contract', message: `${c.call.op} failed with ${r.name}, but ${must.why}: ${must.errnos.join(' or ')}` });
}

/** An errno the oracle knows the call could not have met (oracle/observe.ts, `forbidden`). */
function forbiddenErrno(c: CheckCtx, out: Violation[]): void {
  const f = c.ref.now.forbidden;
  if (f && c.ret.kind === 'errno' && c.ret.name === f.errno) out.push({ invariant: 'errno-contract', message: `${c.call.op} failed with ${f.errno}, but ${f.why}` });
}

/**
 * TDG.MEM.PAGE.ACCEPT at 2 MiB over a range whose S-EPT holds a 4 KiB page
 * table (a 4 KiB leaf was there before the call) fails with
 * TDX_PAGE_SIZE_MISMATCH before the module looks at any leaf, so the guest
 * retries at 4 KiB (tdx.md §3.1): no other status, and no EPT violation
 * for KVM to answer with a PAGE.AUG. Answers that never reached the module
 * (an errno, an exit) are left to the other rules.
 */
function hugeAcceptOverTable(c: CheckCtx, out: Violation[]): void {
  if (c.call.op !== 'GUEST_ACCEPT' || c.before.hugeAcceptOverTable !== true || (c.ret.kind !== 'tdx' && !(c.ret.kind === 'outcome' && c.ret.name === 'OK'))) return;
  const say = reporter(out, 'errno-contract', `GUEST_ACCEPT at 2 MiB of GPA ${x(c.call.args.gpa)}, over a 4 KiB page table, `);
  if (c.ret.name !== 'TDX_PAGE_SIZE_MISMATCH') say(`answered ${c.ret.name}; the module refuses it with TDX_PAGE_SIZE_MISMATCH first`);
  const log = c.step.seamcall.log;
  if (log.length > 0) say(`issued ${log[0].name}`);
}

/** An accept that finds its range already accepted, where the oracle knows the guest never accepted part of it (oracle/observe.ts, neverAccepted). */
function acceptedTwice(c: CheckCtx, out: Violation[]): void {
  const never = c.ref.now.neverAccepted;
  if (c.call.op !== 'GUEST_ACCEPT' || never === undefined || c.ret.kind !== 'tdx' || c.ret.name !== 'TDX_PAGE_ALREADY_ACCEPTED') return;
  out.push({ invariant: 'errno-contract', message: `GUEST_ACCEPT of GPA ${x(c.call.args.gpa)} answered TDX_PAGE_ALREADY_ACCEPTED, but the TD never accepted GFN 0x${never.toString(16)} and INIT_MEM_REGION never added it` });
}

/** A copied-back value in hex, negative ones with their sign. */
function x(n: bigint): string {
  return n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/**
 * The first GFN of [start, end) that no root of the target VM maps. What
 * KVM_PRE_FAULT_MEMORY copies back as done was mapped page by page
 * (kvm_tdp_map_page() for each GFN, advancing by the leaf it installed or
 * found), and nothing in the call takes a leaf away again. Leaves are walked,
 * so a huge range costs its leaves, not its pages. A VM the call bugged is
 * left out.
 */
function unmappedIn(c: CheckCtx, start: bigint, end: bigint): bigint | undefined {
  const vm = targetVm(c.world, c.call);
  if (!vm || vm.bugged || vm.dead || c.before.vms.get(vm.id)?.bugged) return undefined;
  let gfn = Number(start >> 12n);
  const last = Number((end + 0xfffn) >> 12n);
  while (gfn < last) {
    const leaf = rootLeafAt(vm.mmu.mirror, gfn) ?? rootLeafAt(vm.mmu.direct, gfn);
    if (!leaf) return BigInt(gfn);
    gfn = leaf.base + pagesAt(leaf.spte.level);
  }
  return undefined;
}

/**
 * The range a call copies back to userspace advanced consistently: for
 * KVM_PRE_FAULT_MEMORY, gpa + size is where the range ended and size never
 * grows (kvm_vcpu_pre_fault_memory() advances both by what was mapped,
 * clamped to what was left); for INIT_MEM_REGION, gpa moved by as many pages
 * as nr_pages went down (tdx_vcpu_init_mem_region()).
 */
function copiedBackRange(c: CheckCtx, out: Violation[]): void {
  const a = c.call.args;
  const o = c.step.out;
  const bad = reporter(out, 'errno-contract', `${c.call.op} copied back `);
  if (c.call.op === 'KVM_PRE_FAULT_MEMORY' && o.gpa !== undefined && o.size !== undefined) {
    if (o.size < 0n || o.size > a.size || o.gpa < a.gpa || o.gpa + o.size !== a.gpa + a.size) bad(`gpa ${x(o.gpa)} size ${x(o.size)} for the range ${x(a.gpa)}+${x(a.size)}`);
    else {
      const hole = unmappedIn(c, a.gpa, o.gpa);
      if (hole !== undefined) bad(`gpa ${x(o.gpa)}, so [${x(a.gpa)}, ${x(o.gpa)}) was mapped, but GFN ${x(hole)} has no leaf`);
    }
  }
  if (c.call.op === 'KVM_TDX_INIT_MEM_REGION' && o.gpa !== undefined && o.nr_pages !== undefined) {
    if (o.nr_pages < 0n || o.nr_pages > a.nr_pages || o.gpa - a.gpa !== (a.nr_pages - o.nr_pages) * 4096n) bad(`gpa ${x(o.gpa)} nr_pages ${o.nr_pages} for gpa ${x(a.gpa)} nr_pages ${a.nr_pages}`);
  }
}

export const errnoContract: Invariant = {
  id: 'errno-contract',
  summary: 'Each call returns 0, a handle, an outcome or a documented errno; a failed call changes no state and issues no SEAMCALL, except for documented partial progress.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    if (c.exception) return out;
    refusedByArguments(c, out);
    forbiddenErrno(c, out);
    copiedBackRange(c, out);
    hugeAcceptOverTable(c, out);
    acceptedTwice(c, out);
    if (c.ret.kind !== 'errno') return out;
    const e = c.ret.name;
    const allowed = documented(c.call.op);
    if (!allowed.includes(e)) out.push({ invariant: this.id, message: `${c.call.op} returned ${e}; documented: ${allowed.join(', ') || 'no errno'}` });
    const before = c.before.image;
    if (before === null) return out;
    const after = imageAfter(c.world, before, c.step);
    const why = partialProgress(c, e);
    if (why !== undefined) return out;
    const log = c.step.seamcall.log;
    if (log.length > 0 && !busyReturned(c, e)) out.push({ invariant: this.id, message: `${c.call.op} failed with ${e} after issuing ${log[0].name}` });
    // kvm_gmem_populate() pins the source with get_user_pages() before it
    // checks the GFN's memslot and attributes, so a refused INIT_MEM_REGION
    // may leave its source page faulted in (tdx.md §2.3): allowed, but only
    // when no SEAMCALL was issued and the page was not there before.
    if (c.call.op === 'KVM_TDX_INIT_MEM_REGION' && c.before.sourceFaulted === false && log.length === 0) return out;
    if (!sameState(before, after)) out.push({ invariant: this.id, message: `${c.call.op} failed with ${e} but changed the model's state (${changedParts(before, after).join(', ')})` });
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
