// The private map path of a TD and the guest's view of it (tdx.md §4):
// kvm_tdp_mmu_map_private_pfn() for INIT_MEM_REGION, the EPT-violation fault
// path for guest accesses and TDG.MEM.PAGE.ACCEPT, and one chunk of
// KVM_PRE_FAULT_MEMORY (kvm_arch_vcpu_pre_fault_memory()).

import type { Errno } from '../errno.js';
import { linkTable, setLeaf } from '../mmu/funnel.js';
import { externalOps } from '../mmu/ops.js';
import { leafFor, type Spte } from '../mmu/spte.js';
import { err, outcome, tdxStatus, type Ret } from '../result.js';
import * as sc from '../tdx/seamcall.js';
import { bytesAt, gfnOfUapiGpa, levelBase, levelOf, pagesAt, pfnAdd, tableKey, tableLevelsAbove, type Gfn, type Level, type Pfn } from '../units.js';
import { doAccess, type AccessArgs } from './access.js';
import type { World } from '../world.js';
import { isPrivateGfn } from './attrs.js';
import { faultinPfn } from './faultin.js';
import { findSlot } from './memslot.js';
import { gpaOf } from './tdx_mmu.js';
import { hugeLevelFor, demoteLeaf } from './tdx_huge.js';
import type { Vcpu } from './vcpu.js';
import { gpaLimit, isCreatedTd, septTopLevel, sharedBit, type TdVm, type Vm } from './vm.js';
import { vmDead } from './lifetime.js';
import { fault } from '../faults.js';

/** KVM_RUN on a TD needs an initialized vCPU and a RUNNABLE TD (tdx_vcpu_pre_run()). */
export function tdxRunGate(vm: TdVm, vcpu: Vcpu): Errno | null {
  return vcpu.tdxInitialized && vm.tdx.state === 'RUNNABLE' ? null : 'EINVAL';
}

export type MapOutcome = 'fixed' | 'spurious' | Errno;

/**
 * Whether the map path takes a present leaf as a spurious fault (another
 * vCPU, or an earlier call, got there first) and issues nothing: the check of
 * kvm_tdp_mmu_map() that stops a second PAGE.ADD/AUG of one GPA. The one
 * fault point of map-ignores-present-leaf.
 */
export function spuriousCheck(w: World): boolean {
  return !fault(w, 'map-ignores-present-leaf');
}

/** How often the map loop retries RET_PF_RETRY (BUSY) before giving up. */
const MAX_RETRIES = 8;

/**
 * Map `gfn` -> `pfn` at `level` in the mirror root: add missing S-EPT tables
 * top-down, then the leaf. A present leaf is spurious and issues no
 * SEAMCALL. Models kvm_tdp_mmu_map() with its retry loop.
 */
export function mapPrivate(w: World, vm: Vm, gfn: Gfn, pfn: Pfn, level: Level): MapOutcome {
  const root = vm.mmu.mirror;
  const base = levelBase(gfn, level);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    if (vmDead(w, vm)) return 'EIO';
    const present = leafFor(root, gfn);
    if (present) {
      if (spuriousCheck(w)) return 'spurious';
      // The seeded bug: no spurious check, the install hook runs again.
      const e = externalOps(vm).setExternalSpte(w, vm, base, level, { pfn, level, private: true });
      return e === null || e === 'premapped' ? 'fixed' : e;
    }
    let busy = false;
    for (const l of tableLevelsAbove(septTopLevel(vm), level)) {
      if (root.tables.has(tableKey(l, gfn))) continue;
      const e = linkTable(w, vm, 'mirror', l, gfn);
      if (e === 'EBUSY') { busy = true; break; }
      if (e) return e;
    }
    if (busy) continue;
    const spte: Spte = { pfn, level, private: true };
    const e = setLeaf(w, vm, 'mirror', base, level, spte);
    if (e === 'EBUSY') continue;
    if (e) return e;
    return 'fixed';
  }
  return 'EIO';
}

/** A private EPT violation: check privacy, get the PFN, map at the level policy allows. */
function faultPrivate(w: World, vm: TdVm, gfn: Gfn, maxLevel: Level): Ret | null {
  const f = faultinPfn(w, vm, gfn, true);
  if (!f.ok) return f.r;
  const huge = maxLevel >= 1 ? hugeLevelFor(w, vm, gfn, f.slot) : null;
  const m = huge
    ? mapPrivate(w, vm, gfn, huge.pfn, 1)
    : mapPrivate(w, vm, gfn, f.pfn, 0);
  if (m === 'fixed' || m === 'spurious') return null;
  return err(m);
}

/** The GFN behind a guest GPA, the TD's shared bit stripped, and whether the access is shared. */
function splitGpa(vm: Vm, gpa: bigint, privateAlias: boolean): { gfn: Gfn; shared: boolean } {
  const bit = sharedBit(vm);
  const shared = !privateAlias || (gpa & bit) !== 0n;
  return { gfn: gfnOfUapiGpa(gpa & ~bit), shared };
}

export function tdxGuestAccess(w: World, vm: TdVm, _vcpu: Vcpu, a: AccessArgs): Ret {
  if (a.gpa >= gpaLimit(vm)) return err('EINVAL');
  const { gfn, shared } = splitGpa(vm, a.gpa, a.private);
  if (shared) {
    const present = leafFor(vm.mmu.direct, gfn);
    if (present) return doAccess(w, pfnAdd(present.spte.pfn, gfn - present.base), a);
    const f = faultinPfn(w, vm, gfn, false);
    if (!f.ok) return f.r;
    const e = setLeaf(w, vm, 'direct', gfn, 0, { pfn: f.pfn, level: 0, private: false });
    if (e) return err(e);
    return doAccess(w, f.pfn, a);
  }
  // The run gate let only a RUNNABLE TD through, which the module has created.
  if (!isCreatedTd(vm)) return err('EIO');
  const td = vm.tdx.td;
  for (let attempt = 0; attempt < 2; attempt++) {
    const walk = sc.guestWalk(w.tdx, td, gpaOf(gfn));
    if (walk.state === 'MAPPED') return doAccess(w, walk.pfn!, a);
    if (walk.state === 'PENDING') {
      // The guest touched a page it never accepted: with SEPT_VE_DISABLE KVM
      // kills the VM (tdx_handle_ept_violation()).
      vm.dead = true;
      w.step.events.push(`vm${vm.id} killed: access to PENDING gfn 0x${gfn.toString(16)}`);
      return err('EIO');
    }
    if (walk.state !== 'NOT_PRESENT' || attempt > 0) break;
    const r = faultPrivate(w, vm, gfn, 0);
    if (r) return r;
  }
  return err('EIO');
}

/** Accept sizes the module supports: 4K and 2M. */
const ACCEPT_LEVELS: readonly Level[] = [0, 1];

/**
 * TDG.MEM.PAGE.ACCEPT: EPT violations on a missing page are fixed by KVM,
 * size mismatches by demoting. The level is part of the TDCALL's operand
 * (RCX[2:0], with the GPA above it): a level the module does not accept at
 * (1G, 3-7) or one that does not fit that field is TDX_OPERAND_INVALID, like
 * a misaligned, out-of-width or shared GPA.
 */
export function tdxGuestAccept(w: World, vm: TdVm, _vcpu: Vcpu, gpa: bigint, levelArg: bigint): Ret {
  const level = levelOf(levelArg, ACCEPT_LEVELS);
  if (level === null) return tdxStatus('TDX_OPERAND_INVALID');
  const align = BigInt(bytesAt(level)) - 1n;
  if ((gpa & align) !== 0n || gpa >= gpaLimit(vm) || (gpa & sharedBit(vm)) !== 0n) return tdxStatus('TDX_OPERAND_INVALID');
  const gfn = gfnOfUapiGpa(gpa);
  if (!isCreatedTd(vm)) return err('EIO');
  const td = vm.tdx.td;
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = sc.tdgMemPageAccept(w.tdx, td, gpaOf(gfn), level);
    if (r.kind === 'status') {
      if (r.status === 'TDX_SUCCESS') return outcome('OK');
      if (r.status === 'TDX_PAGE_SIZE_MISMATCH' && level === 0) {
        const big = leafFor(vm.mmu.mirror, gfn);
        if (big && big.spte.level === 1 && demoteLeaf(w, vm, big.base)) continue;
      }
      return tdxStatus(r.status);
    }
    // EPT violation: KVM maps the page (never above the accept level) and the guest retries.
    if (!isPrivateGfn(w, vm, gfn)) return outcome('EXIT_MEMORY_FAULT');
    const fr = faultPrivate(w, vm, gfn, level);
    if (fr) return fr;
  }
  return err('EIO');
}

export type PrefaultStep = { mapped: number } | { errno: Errno };

/** One chunk of KVM_PRE_FAULT_MEMORY on a TD. */
export function tdxPrefaultStep(w: World, vm: TdVm, _vcpu: Vcpu, gpa: bigint): PrefaultStep {
  if (!vm.tdx.preFaultAllowed && !fault(w, 'prefault-before-finalize')) return { errno: 'EOPNOTSUPP' };
  if ((gpa & sharedBit(vm)) !== 0n || gpa >= gpaLimit(vm)) return { errno: 'EINVAL' };
  const gfn = gfnOfUapiGpa(gpa);
  const slot = findSlot(vm.memslots, gfn);
  const priv = isPrivateGfn(w, vm, gfn);
  // kvm_handle_noslot_fault(): a private fault with no memslot is a memory-fault exit, a shared one is emulated MMIO.
  if (!slot) return { errno: priv ? 'EFAULT' : 'ENOENT' };
  if (!priv) {
    if (leafFor(vm.mmu.direct, gfn)) return { mapped: 1 };
    const f = faultinPfn(w, vm, gfn, false);
    if (!f.ok) return { errno: f.r.kind === 'outcome' && f.r.name === 'EXIT_MMIO' ? 'ENOENT' : 'EFAULT' };
    const e = setLeaf(w, vm, 'direct', gfn, 0, { pfn: f.pfn, level: 0, private: false });
    return e ? { errno: e } : { mapped: 1 };
  }
  const r = faultPrivate(w, vm, gfn, 1);
  if (r) return { errno: r.kind === 'errno' ? r.name : 'EFAULT' };
  const leaf = leafFor(vm.mmu.mirror, gfn);
  if (!leaf) return { errno: 'EIO' };
  return { mapped: leaf.base + pagesAt(leaf.spte.level) - gfn };
}
