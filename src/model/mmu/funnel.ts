// The one SPTE setter. Every change to a leaf of either root goes through
// setLeaf(), which classifies the transition first (was present, is present,
// PFN changed), rejects the illegal ones before any bookkeeping, and only then
// calls the external (S-EPT) hooks for the mirror root. Models
// tdp_mmu_set_spte_atomic() / handle_changed_spte() and the
// set_external_spte / remove_external_spte hooks of tdp_mmu.c.

import type { Errno } from '../errno.js';
import { LEVEL_2M, pagesAt, type Level } from '../units.js';
import type { World } from '../world.js';
import type { Vm } from '../kvm/vm.js';
import { tdxMapLeaf, tdxSplitLeaf, tdxUnmapLeaf } from '../kvm/tdx_mmu.js';
import { tableKey, type RootName, type Spte } from './spte.js';

export class ModelAssertion extends Error {}

/** Executable precondition: a violated one is a model defect, reported as no-exception. */
export function assertModel(cond: unknown, what: string): asserts cond {
  if (!cond) throw new ModelAssertion(what);
}

export type Transition = 'install' | 'remove' | 'none';

/** Classify old -> new; reject anything but install-into-empty and remove-present. */
export function classify(old: Spte | undefined, next: Spte | null): Transition {
  const wasPresent = old !== undefined;
  const isPresent = next !== null;
  if (!wasPresent && !isPresent) return 'none';
  if (wasPresent && isPresent) {
    const pfnChanged = old.pfn !== next.pfn || old.level !== next.level || old.private !== next.private;
    // A present leaf is never overwritten in place: a changed PFN must be zapped
    // first, an unchanged one is a spurious fault that must not reach here.
    assertModel(false, pfnChanged ? 'present leaf overwritten with a new PFN' : 'spurious SPTE write');
  }
  return wasPresent ? 'remove' : 'install';
}

/**
 * Install or remove the leaf at `base`/`level` of a root. Returns an errno
 * when the external hook refused an install (nothing changes then); removals
 * cannot be refused, as remove_external_spte() returns void in G2/G3.
 */
export function setLeaf(w: World, vm: Vm, rootName: RootName, base: number, level: Level, next: Spte | null): Errno | null {
  const root = vm.mmu[rootName];
  const old = root.leaves[level].get(base);
  const t = classify(old, next);
  if (t === 'none') return null;
  w.step.touched.gfns.push([vm.id, base, base + pagesAt(level)]);
  w.step.touched.vms.add(vm.id);
  if (rootName === 'mirror') {
    if (t === 'install') {
      const e = tdxMapLeaf(w, vm, base, level, next!);
      if (e) return e;
    } else {
      // The mirror leaf goes whatever the S-EPT said: if a SEAMCALL failed the
      // VM is bugged and the page may leak, but KVM cannot refuse a zap.
      tdxUnmapLeaf(w, vm, base, level, old!);
      if (w.bugs.has('mirror-leaf-kept') && !vm.bugged) return null;
    }
  }
  if (next) {
    root.leaves[level].set(base, next);
    w.step.touched.pfns.add(next.pfn);
  } else {
    root.leaves[level].delete(base);
    w.step.touched.pfns.add(old!.pfn);
  }
  return null;
}

/**
 * Split a present 2 MiB leaf into 512 4 KiB leaves over the same frames. For
 * the mirror root the S-EPT is demoted first (BLOCK, TRACK, DEMOTE); on
 * failure nothing changes here (the VM is bugged). Models
 * tdp_mmu_split_huge_page() with the split_external_spte hook of the TDX
 * hugepage series.
 */
export function splitLeaf(w: World, vm: Vm, rootName: RootName, base: number): Errno | null {
  const root = vm.mmu[rootName];
  const old = root.leaves[1].get(base);
  assertModel(old, 'split of a missing 2M leaf');
  if (rootName === 'mirror') {
    const e = tdxSplitLeaf(w, vm, base, old);
    if (e) return e;
    root.tables.add(tableKey(1, base));
  }
  root.leaves[1].delete(base);
  for (let i = 0; i < pagesAt(LEVEL_2M); i++) root.leaves[0].set(base + i, { pfn: old.pfn + i, level: 0, private: old.private });
  w.step.touched.gfns.push([vm.id, base, base + pagesAt(LEVEL_2M)]);
  w.step.events.push(`demote vm${vm.id} gfn 0x${base.toString(16)}`);
  return null;
}
