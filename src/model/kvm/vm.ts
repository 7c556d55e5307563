// A VM: its type, memslots, per-VM attributes, MMU and TDX state. Models
// struct kvm with the bits of struct kvm_arch and struct kvm_tdx the private
// memory path reads.

import { newIntervalMap, type IntervalMap } from '../intervals.js';
import { newMmu, type Mmu } from '../mmu/spte.js';
import type { ExternalOpsName } from '../mmu/spte.js';
import type { Memslot } from './memslot.js';
import type { Pfn } from '../units.js';

export type VmType = 'DEFAULT' | 'SW_PROTECTED' | 'TDX';

export type TdState = 'UNINITIALIZED' | 'INITIALIZED' | 'RUNNABLE';

/** Guest physical address widths a TD may have: 48 (4-level S-EPT) or 52 (5-level). */
export type Gpaw = 48 | 52;

/** KVM's side of a TD (struct kvm_tdx). */
export interface KvmTdx {
  state: TdState;
  /** The TDX module's TD (TDR) once TDH.MNG.CREATE has succeeded. */
  td: number | null;
  hkid: number | null;
  preFaultAllowed: boolean;
  /** Source frame of the PAGE.ADD being installed; set only inside INIT_MEM_REGION (kvm_tdx->page_add_src). */
  pageAddSrc: Pfn | null;
  /** G1 only: mirror leaves installed by INIT_MEM_REGION whose PAGE.ADD has not succeeded. */
  nrPremapped: number;
  /** TDR and TDCS pages, reclaimed at teardown. */
  controlPfns: Pfn[];
  /** S-EPT page-table pages, freed only after the HKID is released. */
  septPfns: Map<string, Pfn>;
  /** The GPA width KVM_TDX_INIT_VM chose; null until it succeeds (no shared bit yet). */
  gpaw: Gpaw | null;
}

export interface Vm {
  id: number;
  type: VmType;
  fdOpen: boolean;
  /** kvm_destroy_vm() has run. */
  destroyed: boolean;
  /** KVM_BUG_ON / TDX_BUG_ON fired: every ioctl answers EIO. */
  bugged: boolean;
  /** kvm_vm_dead(): the guest was killed (e.g. it touched a PENDING page). */
  dead: boolean;
  memslots: Memslot[];
  /** Per-VM attributes: a GFN is private iff it is in this map. */
  attrs: IntervalMap<true>;
  vcpus: number[];
  mmu: Mmu;
  /** The external SPTE ops of the mirror root, by name (kvm_x86_ops' S-EPT hooks); null without a mirror root. */
  externalOps: ExternalOpsName | null;
  tdx: KvmTdx | null;
}

/** A VM of type TDX: KVM's TD state exists (what to_kvm_tdx() may be applied to). */
export type TdVm = Vm & { tdx: KvmTdx };

/** A TD the module knows: TDH.MNG.CREATE succeeded, so `tdx.td` names it. */
export type CreatedTd = Vm & { tdx: KvmTdx & { td: number } };

/**
 * Models to_kvm_tdx() at the uAPI and hook boundaries: whether the VM is a
 * TD. TDX-only functions take the TdVm this narrows to instead of asserting.
 */
export function isTd(vm: Vm): vm is TdVm {
  return vm.tdx !== null;
}

/** Whether the VM is a TD that TDH.MNG.CREATE has created (anything that names the TD to the module needs one). */
export function isCreatedTd(vm: Vm): vm is CreatedTd {
  return vm.tdx !== null && vm.tdx.td !== null;
}

export function hasPrivateMem(vm: Vm): boolean {
  return vm.type !== 'DEFAULT';
}

/**
 * Models the generic part of kvm_create_vm(); the caller runs the
 * VM-type-specific init (kvm_arch_init_vm() -> tdx_vm_init()) on the result,
 * so that this object knows nothing of TDX.
 */
export function newVm(id: number, type: VmType): Vm {
  return {
    id, type, fdOpen: true, destroyed: false, bugged: false, dead: false,
    memslots: [], attrs: newIntervalMap(), vcpus: [], mmu: newMmu(), externalOps: null, tdx: null,
  };
}

/**
 * The shared bit of a VM's GPAs as a GPA mask: bit GPAW-1 once a TD's
 * KVM_TDX_INIT_VM succeeded, none otherwise. Models kvm_gfn_direct_bits(),
 * which tdx_td_init() sets from TDX_CONFIG_FLAGS_MAX_GPAW.
 */
export function sharedBit(vm: Vm): bigint {
  const g = vm.tdx?.gpaw;
  return g ? 1n << BigInt(g - 1) : 0n;
}

/** GPAs of a TD end at 2^GPAW (2^52, MAXPHYADDR, for other VMs and before INIT_VM). */
export function gpaLimit(vm: Vm): bigint {
  return 1n << BigInt(vm.tdx?.gpaw ?? 52);
}

/** The S-EPT level of the highest table below the root: 3 with 4-level EPT (GPAW 48), 4 with 5-level. */
export function septTopLevel(vm: Vm): 3 | 4 {
  return vm.tdx?.gpaw === 52 ? 4 : 3;
}
