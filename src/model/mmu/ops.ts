// What the MMU needs from a VM, and the external (S-EPT) hooks it calls for a
// mirror root. Models the link_external_spt / set_external_spte /
// remove_external_spte members of struct kvm_x86_ops (with the
// split_external_spt hook of the TDX hugepage series, here
// splitExternalSpte): the MMU knows only the table, and the TDX code fills it.
//
// The VM holds the name of its table, not the table: model state stays plain
// data (snapshots, the errno-contract digest and reports walk it), and the
// functions live here, registered once by the VM-type-specific init, as
// kvm_ops_update() fills kvm_x86_ops once at vendor-module load.

import type { Errno } from '../errno.js';
import type { Gfn, Level, TableLevel } from '../units.js';
import type { World } from '../world.js';
import type { Mmu, Spte } from './spte.js';

export type { ExternalOpsName } from './spte.js';
import type { ExternalOpsName } from './spte.js';

/** The part of struct kvm the MMU reads: a Vm satisfies it. */
export interface MmuVm {
  id: number;
  /** KVM_BUG_ON fired (carried for the mirror-leaf-kept seeded bug). */
  bugged: boolean;
  mmu: Mmu;
  /** The external hooks of the mirror root; null when the VM has none (kvm_has_mirrored_tdp() is false). */
  externalOps: ExternalOpsName | null;
}

/**
 * What the set hook answers: null when the S-EPT has the entry, an errno
 * when it refused (nothing changes), or 'premapped' when the entry goes in
 * with no SEAMCALL yet (G1's nr_premapped, PAGE.ADD follows outside mmu_lock).
 */
export type SetExternalResult = Errno | null | 'premapped';

/**
 * The hooks. Declared as methods so an implementation may take the vendor's
 * own VM type (a Vm with its TDX state): the MMU passes back the VM it was
 * given, so the narrower parameter is safe.
 */
export interface ExternalSpteOps {
  /** link_external_spt: a page table under a new non-leaf entry of `level` covering `gfn`. */
  linkExternalSpt(w: World, vm: MmuVm, level: TableLevel, gfn: Gfn): Errno | null;
  /** set_external_spte: a new leaf. */
  setExternalSpte(w: World, vm: MmuVm, base: Gfn, level: Level, spte: Spte): SetExternalResult;
  /** remove_external_spte: a leaf goes; it cannot be refused (void in the kernel). */
  removeExternalSpte(w: World, vm: MmuVm, base: Gfn, level: Level, old: Spte): void;
  /** split_external_spt: a 2 MiB leaf is demoted onto a new page table of 4 KiB leaves. */
  splitExternalSpte(w: World, vm: MmuVm, base: Gfn, old: Spte): Errno | null;
}

const tables = new Map<ExternalOpsName, ExternalSpteOps>();

/** Register a vendor's table under a name; registering the same table again is a no-op. */
export function registerExternalOps(name: ExternalOpsName, ops: ExternalSpteOps): void {
  const had = tables.get(name);
  if (had !== undefined && had !== ops) throw new Error(`external SPTE ops '${name}' registered twice`);
  tables.set(name, ops);
}

/** Whether the VM has a mirror root whose changes go to external hooks (kvm_has_mirrored_tdp()). */
export function hasMirroredTdp(vm: MmuVm): boolean {
  return vm.externalOps !== null;
}

/** The VM's table of external hooks (kvm_x86_call()); a VM with a mirror root always has one registered. */
export function externalOps(vm: MmuVm): ExternalSpteOps {
  const ops = vm.externalOps === null ? undefined : tables.get(vm.externalOps);
  if (ops === undefined) throw new Error(`vm${vm.id}: no external SPTE ops registered as '${vm.externalOps}'`);
  return ops;
}
