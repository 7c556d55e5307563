// Updating the reference state from one call: its resolved arguments, its
// result and, for INIT_MEM_REGION, the PAGE.ADDs of its SEAMCALL log. Before
// changing anything it records what the call should have observed (the
// prediction the invariants compare with).

import { ATTR_FLAGS, FALLOC_FLAGS, GMEM_FLAGS, INIT_MEM_FLAGS, MEMSLOT_FLAGS } from '../program/calls.js';
import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import type { Ret } from '../model/result.js';
import type { Errno } from '../model/errno.js';
import type { StepCtx, World } from '../model/world.js';
import { isLeaf, LEVEL_1G, LEVEL_2M, LEVEL_4K, levelOf, pagesAt } from '../model/view.js';
import { RangeMap } from './intervals.js';
import { maybeDestroy, maybeRelease } from './lifetime.js';
import { accept, firstUnnamed, forgetGmemRange, forgetVm, isAccepted, nameGfns } from './accepted.js';
import { forgetUnprepared, KEEPS_UNPREPARED, prepare, unpreparedStop } from './prepared.js';
import { noteFailedZaps } from './zaps.js';
import { refusal, type Refusal } from './args.js';
import { pinDropped, pinsPunched, pinTaken } from './pins.js';
import { addPage, newTd } from './mrtd.js';
import { contentOf, guestReach, hostReach, indexOf, liveGmem, mappingAtVa, sharedBitOf, slotOf, writeContent, type Reach } from './places.js';
import type { RefState, RefVm, TdPhase, VmKind } from './state.js';

/** What the oracle expected of the call it just saw. */
export interface Prediction {
  /** A host or guest access: the page it may reach, and the byte there before the call. */
  access?: { reach: Reach; before: number };
  /** The VM a VM or vCPU ioctl targeted, and its TD phase before the call. */
  vmId?: number;
  phase?: TdPhase;
  /** INIT_MEM_REGION: the GPAs the cursor advanced over, and whether they were to be measured. */
  populated?: { gpas: number[]; measure: boolean };
  /** Pages in the oracle's MRTD of the targeted VM before the call. */
  pagesBefore?: number;
  /**
   * GUEST_ACCESS: why the access must succeed, when it must: a private access
   * by an initialised vCPU of a RUNNABLE TD to a GFN the guest accepted and
   * still holds (accepted.ts).
   */
  mustReach?: string;
  /** What the call had to answer for its arguments alone (args.ts). */
  refused?: Refusal;
  /**
   * GUEST_ACCESS (private) and GUEST_ACCEPT of a TD: the first GFN of the
   * range that no accept or INIT_MEM_REGION ever named, so the guest has
   * never accepted it (RefVm.named): a private access there cannot succeed,
   * nor an accept answer TDX_PAGE_ALREADY_ACCEPTED.
   */
  neverAccepted?: number;
  /** An errno the call may not answer, and why (G1: EEXIST for a page known not to be prepared). */
  forbidden?: { errno: Errno; why: string };
}

const KINDS: Record<string, VmKind> = { '0': 'DEFAULT', '1': 'SW_PROTECTED', '5': 'TDX' };
const isZero = (r: Ret) => r.kind === 'int' && r.value === 0n;
const isOk = (r: Ret) => r.kind === 'outcome' && r.name === 'OK';
/** A host or guest access that got to its page: a byte read, or a store done. */
const reached = (r: Ret) => r.kind === 'int' || isOk(r);

function vmOfFd(ref: RefState, fd: number): RefVm | undefined {
  const e = ref.fds.get(fd);
  if (!e) return undefined;
  if (e.kind === 'vm') return ref.vms.get(e.id);
  if (e.kind === 'vcpu') return ref.vms.get(ref.vcpus.get(fd)!.vmId);
  return undefined;
}

function gmemOfFd(ref: RefState, fd: number) {
  const e = ref.fds.get(fd);
  return e?.kind === 'gmem' ? ref.gmems.get(e.id) : undefined;
}

export function observe(ref: RefState, w: World, c: ExecCall<Op>, ret: Ret, step: StepCtx): Prediction {
  const p: Prediction = {};
  const refused = refusal(ref, c);
  if (refused) p.refused = refused;
  if (!KEEPS_UNPREPARED.has(c.op)) forgetUnprepared(ref);
  const a = c.args;
  const h = c.handles[0] ?? -1;
  const vm = c.op === 'KVM_CREATE_VM' ? undefined : vmOfFd(ref, h);
  if (vm) {
    p.vmId = vm.id;
    p.phase = vm.td?.phase;
    p.pagesBefore = vm.td?.pages.length;
  }
  switch (c.op) {
    case 'KVM_CREATE_VM': {
      if (ret.handle === undefined) break;
      const id = w.fds.get(ret.handle)!.id;
      const kind = KINDS[a.type.toString()] ?? 'DEFAULT';
      ref.fds.set(ret.handle, { kind: 'vm', id });
      ref.vms.set(id, { id, kind, fdOpen: true, vcpuFds: new Set(), destroyed: false, slots: [], attrs: new RangeMap(), accepted: new RangeMap(), named: new RangeMap(), zapFailed: new RangeMap(), trackFailed: false, td: kind === 'TDX' ? newTd() : null, gpaw: 48 });
      break;
    }
    case 'KVM_CREATE_VCPU':
      if (ret.handle === undefined || !vm) break;
      ref.fds.set(ret.handle, { kind: 'vcpu', id: w.fds.get(ret.handle)!.id });
      ref.vcpus.set(ret.handle, { vmId: vm.id, tdxInit: false });
      vm.vcpuFds.add(ret.handle);
      break;
    case 'KVM_CREATE_GUEST_MEMFD': {
      if (ret.handle === undefined || !vm) break;
      const id = w.fds.get(ret.handle)!.id;
      const sizePages = Number(a.size >> 12n);
      const folio = a.flags & GMEM_FLAGS.HUGETLB_1G ? pagesAt(LEVEL_1G) : a.flags & GMEM_FLAGS.HUGETLB_2M ? pagesAt(LEVEL_2M) : 1;
      const priv = new RangeMap<true>();
      if (!(a.flags & GMEM_FLAGS.INIT_SHARED)) priv.set(0, sizePages, true);
      ref.fds.set(ret.handle, { kind: 'gmem', id });
      ref.gmems.set(id, { id, vmId: vm.id, sizePages, flags: a.flags, folio, priv, content: new RangeMap(), allocated: new RangeMap(), prepared: new RangeMap(), unprepared: new RangeMap(), pins: new Map(), fdOpen: true, mmaps: 0, released: false });
      break;
    }
    case 'KVM_SET_USER_MEMORY_REGION2':
      if (vm && isZero(ret)) {
        setRegion(ref, vm, a);
        forgetVm(vm);
      }
      break;
    case 'KVM_SET_MEMORY_ATTRIBUTES': {
      if (!vm || !isZero(ret)) break;
      const start = Number(a.gpa >> 12n);
      const end = Number((a.gpa + a.size + 4095n) >> 12n);
      if (a.attributes & ATTR_FLAGS.PRIVATE) vm.attrs.set(start, end, true);
      else vm.attrs.clear(start, end);
      vm.accepted.clear(start, end);
      break;
    }
    case 'KVM_SET_MEMORY_ATTRIBUTES2': {
      const g = gmemOfFd(ref, h);
      if (!g || !isZero(ret)) break;
      const start = Number(a.offset >> 12n);
      const end = Number((a.offset + a.size) >> 12n);
      if (a.attributes & ATTR_FLAGS.PRIVATE) g.priv.set(start, end, true);
      else g.priv.clear(start, end);
      forgetGmemRange(ref, g.id, start, end);
      break;
    }
    case 'FALLOCATE': {
      const g = gmemOfFd(ref, h);
      if (!g || !isZero(ret)) break;
      const start = Number(a.offset >> 12n);
      const end = Math.min(Number((a.offset + a.len) >> 12n), g.sizePages);
      if (a.mode & FALLOC_FLAGS.PUNCH_HOLE) {
        // The pages go; whatever comes next at these indices is a fresh, zeroed page.
        g.content.clear(start, end);
        g.allocated.clear(start, end);
        g.prepared.clear(start, end);
        forgetGmemRange(ref, g.id, start, end);
        pinsPunched(ref, g.id, start, end);
      } else g.allocated.set(start, end, true);
      break;
    }
    case 'MMAP':
    case 'MMAP_ANON': {
      if (ret.handle === undefined) break;
      const g = c.op === 'MMAP' ? gmemOfFd(ref, h) : undefined;
      const m = w.mappings.get(ret.handle);
      if (!m || (c.op === 'MMAP' && !g)) break;
      if (g) g.mmaps++;
      ref.mappings.set(ret.handle, {
        id: ret.handle, va: m.va, end: m.va + ((a.size + 4095n) >> 12n) * 4096n, sizePages: Number((a.size + 4095n) >> 12n), gmem: g ? g.id : null,
        pgoff: c.op === 'MMAP' ? Number(a.offset >> 12n) : 0, content: new RangeMap(), unmapped: false,
      });
      break;
    }
    case 'MUNMAP': {
      const m = ref.mappings.get(h);
      if (!m || m.unmapped || !isZero(ret)) break;
      m.unmapped = true;
      if (m.gmem !== null) {
        const g = ref.gmems.get(m.gmem)!;
        g.mmaps--;
        maybeRelease(ref, g);
      }
      break;
    }
    case 'HOST_READ':
    case 'HOST_WRITE':
    case 'HOST_PIN': {
      const reach = hostReach(ref, ref.mappings.get(h), a.offset);
      p.access = { reach, before: reach.ok ? contentOf(ref, reach.place) : 0 };
      if (c.op === 'HOST_WRITE' && isOk(ret) && reach.ok) writeContent(ref, reach.place, Number(a.byte & 0xffn));
      if (reached(ret) && reach.ok) prepare(ref, reach.place);
      if (c.op === 'HOST_PIN' && isZero(ret) && reach.ok) pinTaken(ref, h, Number(a.offset >> 12n), reach.place);
      break;
    }
    case 'HOST_UNPIN':
      if (isZero(ret)) pinDropped(ref, h, Number(a.offset >> 12n));
      break;
    case 'CLOSE':
      if (isZero(ret)) closeFd(ref, h);
      break;
    case 'KVM_TDX_INIT_VM':
      if (vm?.td && isZero(ret)) {
        vm.td.phase = 'INITIALIZED';
        // tdx_td_init(): the width the VMM asked for takes effect only when INIT_VM succeeds.
        vm.gpaw = c.args.gpaw === undefined ? 48 : Number(c.args.gpaw);
      }
      break;
    case 'KVM_TDX_INIT_VCPU':
      if (vm && isZero(ret)) ref.vcpus.get(h)!.tdxInit = true;
      break;
    case 'KVM_TDX_FINALIZE_VM':
      if (vm?.td && isZero(ret)) vm.td.phase = 'RUNNABLE';
      break;
    case 'KVM_TDX_INIT_MEM_REGION':
      if (vm?.td) {
        nameGfns(vm, a.gpa, a.nr_pages);
        // Where the cursor stopped (the first GPA when nothing was copied back): whatever the call answered, EEXIST is ruled out there.
        const refusedAt = ref.refusesPrepared ? unpreparedStop(ref, vm, step.out.gpa ?? a.gpa) : undefined;
        if (refusedAt) p.forbidden = { errno: 'EEXIST', why: refusedAt };
        p.populated = populate(ref, w, vm, c, step);
      }
      break;
    case 'GUEST_ACCESS': {
      if (!vm) break;
      const reach = guestReach(ref, vm, a.gpa, a.private !== 0n);
      p.access = { reach, before: reach.ok ? contentOf(ref, reach.place) : 0 };
      p.mustReach = mustReach(ref, vm, h, a.gpa, a.private !== 0n) ?? mustReachShared(ref, vm, h, a.gpa, reach, a.write !== 0n);
      // A GPA with the shared bit goes through the shared EPT, whatever the guest meant.
      if (vm.td && a.private !== 0n && a.gpa < sharedBitOf(vm)) p.neverAccepted = firstUnnamed(vm, a.gpa, 1n);
      if (a.write !== 0n && isOk(ret) && reach.ok) writeContent(ref, reach.place, Number((a.byte ?? 0n) & 0xffn));
      if (reached(ret) && reach.ok) prepare(ref, reach.place);
      break;
    }
    case 'GUEST_ACCEPT': {
      const level = levelOf(a.level, [LEVEL_4K, LEVEL_2M]);
      if (vm?.td && level !== null) {
        // The whole range of the level the guest asked for, from its aligned base.
        const n = BigInt(pagesAt(level));
        const base = (a.gpa >> 12n) - ((a.gpa >> 12n) % n);
        p.neverAccepted = firstUnnamed(vm, base << 12n, n);
        nameGfns(vm, base << 12n, n);
      }
      if (vm && isOk(ret) && level !== null) {
        const n = pagesAt(level);
        const gfn = Number(a.gpa >> 12n);
        acceptZeroes(ref, vm, gfn, n);
        accept(vm, gfn - (gfn % n), n);
      }
      break;
    }
    // Neither changes what the reference tracks: a pin count, and mappings the model's own invariants check.
    case 'KVM_PRE_FAULT_MEMORY':
      break;
    // A new call fails to compile here until the reference decides what it observes of it.
    default: c.op satisfies never;
  }
  if (step.seamcall.log.length > 0) noteFailedZaps(ref, w, step);
  return p;
}

/** Why a GUEST_ACCESS must succeed: the page is private memory the TD holds (accepted.ts), and its vCPU may run. */
function mustReach(ref: RefState, vm: RefVm, vcpuFd: number, gpa: bigint, privateAccess: boolean): string | undefined {
  if (vm.kind !== 'TDX' || vm.td?.phase !== 'RUNNABLE' || !privateAccess || !ref.vcpus.get(vcpuFd)?.tdxInit) return undefined;
  if (gpa >= sharedBitOf(vm)) return undefined;
  const gfn = Number(gpa >> 12n);
  return isAccepted(vm, gfn) ? `the TD holds GFN 0x${gfn.toString(16)} (accepted or added) and nothing has taken it away since` : undefined;
}

/**
 * Why a shared GUEST_ACCESS must succeed: it lands on a page of a live
 * anonymous mapping through a plain memslot, and its vCPU may run. KVM
 * faults that page in from the host address (hva_to_pfn() through
 * get_user_pages()), which for an anonymous VMA allocates whatever is
 * missing; nothing there may refuse it. A write to a read-only memslot
 * exits to userspace instead (an MMIO exit), so writes there are left out.
 */
function mustReachShared(ref: RefState, vm: RefVm, vcpuFd: number, gpa: bigint, reach: Reach, write: boolean): string | undefined {
  if (!reach.ok || reach.place.kind !== 'anon' || vm.destroyed || !ref.vcpus.has(vcpuFd)) return undefined;
  if (vm.kind === 'TDX' && (vm.td?.phase !== 'RUNNABLE' || !ref.vcpus.get(vcpuFd)?.tdxInit)) return undefined;
  const gfn = Number((vm.kind === 'TDX' ? gpa & ~sharedBitOf(vm) : gpa) >> 12n);
  if (write && ((slotOf(vm, gfn)?.flags ?? 0n) & MEMSLOT_FLAGS.READONLY) !== 0n) return undefined;
  return `it is a shared access to page 0x${reach.place.page.toString(16)} of live anonymous mapping ${reach.place.mapping}, which nothing may refuse`;
}

function setRegion(ref: RefState, vm: RefVm, a: Record<string, bigint>): void {
  const id = Number(a.slot & 0xffffn);
  const old = vm.slots.find((s) => s.id === id);
  if (a.size === 0n) {
    vm.slots = vm.slots.filter((s) => s !== old);
    return;
  }
  const baseGfn = Number(a.gpa >> 12n);
  const npages = Number(a.size >> 12n);
  if (old && old.baseGfn === baseGfn && old.flags === a.flags) return;
  let gmem: number | null = null;
  let pgoff = 0;
  let gmemOnly = false;
  if (!old && a.flags & MEMSLOT_FLAGS.GUEST_MEMFD) {
    const g = gmemOfFd(ref, Number(a.gmem));
    if (g) {
      gmem = g.id;
      pgoff = Number(a.offset >> 12n);
      gmemOnly = (g.flags & GMEM_FLAGS.MMAP) !== 0n;
    }
  }
  // A move or flags change replaces the slot (only plain slots may change).
  const slot = { id, flags: a.flags, baseGfn, npages, uaddr: a.uaddr, gmem, pgoff, gmemOnly };
  vm.slots = vm.slots.filter((s) => s !== old);
  vm.slots.push(slot);
}

function closeFd(ref: RefState, fd: number): void {
  const e = ref.fds.get(fd);
  if (!e) return;
  ref.fds.delete(fd);
  if (e.kind === 'vm') {
    const vm = ref.vms.get(e.id)!;
    vm.fdOpen = false;
    maybeDestroy(ref, vm);
  } else if (e.kind === 'vcpu') {
    const vm = ref.vms.get(ref.vcpus.get(fd)!.vmId)!;
    vm.vcpuFds.delete(fd);
    maybeDestroy(ref, vm);
  } else {
    const g = ref.gmems.get(e.id)!;
    g.fdOpen = false;
    maybeRelease(ref, g);
  }
}

/** TDG.MEM.PAGE.ACCEPT initialises every page it accepts to zero (tdx.md §3.1). */
function acceptZeroes(ref: RefState, vm: RefVm, gfn: number, n: number): void {
  const first = gfn - (gfn % n);
  for (const s of vm.slots) {
    const from = Math.max(first, s.baseGfn);
    const to = Math.min(first + n, s.baseGfn + s.npages);
    const g = from < to ? liveGmem(ref, s) : undefined;
    if (!g) continue;
    g.content.clear(indexOf(s, from), indexOf(s, to));
    g.allocated.set(indexOf(s, from), indexOf(s, to), true);
    g.prepared.set(indexOf(s, from), indexOf(s, to), true);
  }
}

/**
 * How many MR.EXTENDs a page added in this step contributes: all 16 when the
 * cursor moved past it. A page the cursor stopped on was measured in part
 * only where an MR.EXTEND failed after its ADD (G1 returns EIO there and
 * keeps the chunks already measured, tdx.md §2.3): then the chunks the log
 * shows measured before the failure, else none.
 */
function extendsOf(step: StepCtx, td: unknown, gpa: number, passed: boolean): number {
  if (passed) return 16;
  const mine = step.seamcall.log.filter((r) => isLeaf(r, 'TDH.MR.EXTEND')).filter((r) => r.td === td && r.args.gpa >= gpa && r.args.gpa < gpa + 4096);
  if (!mine.some((r) => r.status !== 'TDX_SUCCESS')) return 0;
  return mine.filter((r) => r.status === 'TDX_SUCCESS').length;
}

/**
 * INIT_MEM_REGION: every successful PAGE.ADD copies its source page into the
 * target page; each page the cursor advanced over is measured (ADD, then 16
 * EXTENDs of 256 bytes when MEASURE is set). The source of page k is
 * source + k * 4 KiB, or the target itself for source=0.
 */
function populate(ref: RefState, w: World, vm: RefVm, c: ExecCall<Op>, step: StepCtx): { gpas: number[]; measure: boolean } {
  const a = c.args;
  const td = vm.td!;
  const measure = (a.flags & INIT_MEM_FLAGS.MEASURE) !== 0n;
  const outGpa = step.out.gpa;
  const advanced = outGpa !== undefined && outGpa > a.gpa ? Number((outGpa - a.gpa) >> 12n) : 0;
  const gpas: number[] = [];
  for (let k = 0; k < advanced; k++) gpas.push(Number(a.gpa) + k * 4096);
  const modelTd = w.vms.get(vm.id)?.tdx?.td;
  const adds = step.seamcall.log.filter((r) => isLeaf(r, 'TDH.MEM.PAGE.ADD')).filter((r) => r.td === modelTd);
  if (ref.refusesPrepared) {
    // G1: a page whose PAGE.ADD failed is left unprepared; one added since is not.
    for (const r of adds) {
      const gfn = r.args.gpa / 4096;
      const s = slotOf(vm, gfn);
      const g = liveGmem(ref, s);
      if (!g) continue;
      const i = indexOf(s!, gfn);
      if (r.status === 'TDX_SUCCESS') g.unprepared.clear(i, i + 1);
      else {
        g.unprepared.set(i, i + 1, true);
        ref.anyUnprepared = true;
      }
    }
  }
  const added = adds.filter((r) => r.status === 'TDX_SUCCESS');
  for (const r of added) {
    const gpa = r.args.gpa;
    const k = Math.round((gpa - Number(a.gpa)) / 4096);
    const gfn = gpa / 4096;
    const s = slotOf(vm, gfn);
    const g = liveGmem(ref, s);
    let byte = 0;
    if (g) {
      const target = { kind: 'gmem' as const, gmem: g.id, index: indexOf(s!, gfn) };
      byte = contentOf(ref, target);
      if (a.source !== 0n) {
        const va = a.source + BigInt(k) * 4096n;
        const m = mappingAtVa(ref, va);
        const src = hostReach(ref, m, m ? va - m.va : 0n);
        byte = src.ok ? contentOf(ref, src.place) : 0;
      }
      writeContent(ref, target, byte);
      // kvm_gmem_populate() marks the folio prepared only when the whole
      // callback succeeded: not the page the cursor stopped on.
      if (k >= 0 && k < advanced) prepare(ref, target);
    }
    accept(vm, gfn, 1);
    addPage(td, { gpa, byte, extends: measure ? extendsOf(step, modelTd, gpa, k >= 0 && k < advanced) : 0 });
  }
  return { gpas, measure };
}
