// The one SPTE funnel. Every write of an SPTE of either root goes through
// changeSpte(): leaves, page tables, the demotion of a huge leaf and the
// pre-mapped flag. It first classifies the transition (was present, is
// present, was a leaf, is a leaf, PFN changed), rejects the illegal ones and
// the ones its caller did not ask for before any bookkeeping, and only then
// calls the external (S-EPT) hook of a mirror root and writes the entry.
// Models tdp_mmu_set_spte_atomic() / handle_changed_spte() with the
// link_external_spt / set_external_spte / remove_external_spte hooks and the
// split_external_spt hook of the TDX hugepage series (tdp_mmu_split_huge_page()).
// Nothing else in src/model writes an MmuRoot (properties/model/funnel.test.ts).

import type { Errno } from '../errno.js';
import { asGfn, gfnAdd, LEVEL_2M, levelBase, pagesAt, pfnAdd, tableKey, type Gfn, type Level, type TableLevel } from '../units.js';
import type { World } from '../world.js';
import { externalOps, type MmuVm } from './ops.js';
import type { MmuRoot, RootName, Spte } from './spte.js';
import { fault } from '../faults.js';

export class ModelAssertion extends Error {}

/** Executable precondition: a violated one is a model defect, reported as no-exception. */
export function assertModel(cond: unknown, what: string): asserts cond {
  if (!cond) throw new ModelAssertion(what);
}

/** An SPTE as the funnel sees it: a leaf, or a non-leaf entry pointing to a page table. */
export type SpteEntry = { kind: 'leaf'; spte: Spte } | { kind: 'table' };

export type Transition = 'none' | 'install' | 'remove' | 'link' | 'unlink' | 'split' | 'flags';

/**
 * Classify old -> new. Legal: install a leaf or link a table into an empty
 * entry, remove a leaf or unlink a table, demote a 2 MiB leaf onto a table,
 * and change only the pre-mapped flag of a leaf. Anything else (a present
 * leaf overwritten, a spurious write, a table replaced by a leaf) throws.
 */
export function classify(old: SpteEntry | undefined, next: SpteEntry | null): Transition {
  const wasPresent = old !== undefined;
  const isPresent = next !== null;
  if (!wasPresent) return !isPresent ? 'none' : next.kind === 'leaf' ? 'install' : 'link';
  const wasLeaf = old.kind === 'leaf';
  if (!isPresent) return wasLeaf ? 'remove' : 'unlink';
  const isLeaf = next.kind === 'leaf';
  if (wasLeaf && isLeaf) {
    const a = old.spte;
    const b = next.spte;
    const pfnChanged = a.pfn !== b.pfn || a.level !== b.level || a.private !== b.private;
    // A present leaf is never overwritten in place: a changed PFN must be zapped
    // first, an unchanged one is a spurious fault that must not reach here.
    assertModel(!pfnChanged, 'present leaf overwritten with a new PFN');
    assertModel((a.premapped ?? false) !== (b.premapped ?? false), 'spurious SPTE write');
    return 'flags';
  }
  if (wasLeaf) {
    assertModel(old.spte.level === LEVEL_2M, 'split of a leaf that is not 2 MiB');
    return 'split';
  }
  throw new ModelAssertion(isLeaf ? 'page table replaced by a leaf (collapse is not modelled)' : 'spurious page-table write');
}

/** The entry of `level` holding `gfn`: a leaf if one is there, else a page table if one is linked. */
function entryAt(root: MmuRoot, level: Level | TableLevel, gfn: Gfn): SpteEntry | undefined {
  const leaf = level <= 2 ? root.leaves[level as Level].get(levelBase(gfn, level)) : undefined;
  if (leaf) return { kind: 'leaf', spte: leaf };
  return level >= 1 && root.tables.has(tableKey(level as TableLevel, gfn)) ? { kind: 'table' } : undefined;
}

/**
 * The funnel proper: classify, reject what `expected` does not allow, then
 * hook and write. Returns an errno when an external hook refused (nothing
 * changes then).
 */
function changeSpte(w: World, vm: MmuVm, rootName: RootName, level: Level | TableLevel, gfn: Gfn, next: SpteEntry | null, expected: readonly Transition[]): Errno | null {
  const root = vm.mmu[rootName];
  const old = entryAt(root, level, gfn);
  const t = classify(old, next);
  if (t === 'none') return null;
  assertModel(expected.includes(t), `${t} where only ${expected.join('/')} was asked`);
  const base = levelBase(gfn, level);
  const mirror = rootName === 'mirror';
  switch (t) {
    case 'install':
    case 'remove':
      return changeLeaf(w, vm, root, mirror, base, level as Level, old?.kind === 'leaf' ? old.spte : undefined, next?.kind === 'leaf' ? next.spte : null);
    case 'flags': {
      // No hook: the S-EPT already has (or never had) the page; only KVM's
      // record of it changes (G1: PAGE.ADD succeeded outside mmu_lock).
      const spte = (next as { spte: Spte }).spte;
      root.leaves[level as Level].set(base, spte);
      return null;
    }
    case 'link': {
      if (mirror) {
        const e = externalOps(vm).linkExternalSpt(w, vm, level as TableLevel, gfn);
        if (e) return e;
      }
      root.tables.add(tableKey(level as TableLevel, gfn));
      return null;
    }
    case 'unlink':
      // No hook: the caller reclaims the S-EPT pages once the HKID is gone
      // (tdx_sept_free_private_spt() runs at teardown in the model).
      root.tables.delete(tableKey(level as TableLevel, gfn));
      return null;
    case 'split':
      return splitHuge(w, vm, root, mirror, base, (old as { spte: Spte }).spte);
  }
}

/** Install or remove one leaf: hook first, then the write (handle_changed_spte()). */
function changeLeaf(w: World, vm: MmuVm, root: MmuRoot, mirror: boolean, base: Gfn, level: Level, old: Spte | undefined, next: Spte | null): Errno | null {
  w.step.touched.gfns.push([vm.id, base, base + pagesAt(level)]);
  w.step.touched.vms.add(vm.id);
  let stored = next;
  if (mirror) {
    if (next) {
      const r = externalOps(vm).setExternalSpte(w, vm, base, level, next);
      if (r === 'premapped') stored = { ...next, premapped: true };
      else if (r) return r;
    } else {
      // The mirror leaf goes whatever the S-EPT said: if a SEAMCALL failed the
      // VM is bugged and the page may leak, but KVM cannot refuse a zap.
      externalOps(vm).removeExternalSpte(w, vm, base, level, old!);
      if (fault(w, 'mirror-leaf-kept') && !vm.bugged) return null;
    }
  }
  if (stored) {
    root.leaves[level].set(base, stored);
    w.step.touched.pfns.add(stored.pfn);
  } else {
    root.leaves[level].delete(base);
    w.step.touched.pfns.add(old!.pfn);
  }
  return null;
}

/**
 * Demote a 2 MiB leaf onto a page table of 512 4 KiB leaves over the same
 * frames. For the mirror root the S-EPT is demoted first (BLOCK, TRACK,
 * DEMOTE) and the new table recorded; on failure nothing changes here (the
 * VM is bugged). The children are written into the new table directly, as
 * tdp_mmu_split_huge_page() fills the child page before linking it.
 */
function splitHuge(w: World, vm: MmuVm, root: MmuRoot, mirror: boolean, base: Gfn, old: Spte): Errno | null {
  if (mirror) {
    const e = externalOps(vm).splitExternalSpte(w, vm, base, old);
    if (e) return e;
    root.tables.add(tableKey(1, base));
  }
  root.leaves[1].delete(base);
  for (let i = 0; i < pagesAt(LEVEL_2M); i++) root.leaves[0].set(gfnAdd(base, i), { pfn: pfnAdd(old.pfn, i), level: 0, private: old.private });
  w.step.touched.gfns.push([vm.id, base, base + pagesAt(LEVEL_2M)]);
  w.step.events.push(`demote vm${vm.id} gfn 0x${base.toString(16)}`);
  return null;
}

/**
 * Install or remove the leaf at `base`/`level` of a root. Returns an errno
 * when the external hook refused an install (nothing changes then);
 * removals cannot be refused, as remove_external_spte() returns void.
 */
export function setLeaf(w: World, vm: MmuVm, rootName: RootName, base: Gfn, level: Level, next: Spte | null): Errno | null {
  return changeSpte(w, vm, rootName, level, base, next ? { kind: 'leaf', spte: next } : null, ['install', 'remove']);
}

/** Link the page table of `level` that covers `gfn` (tdp_mmu_link_sp()). */
export function linkTable(w: World, vm: MmuVm, rootName: RootName, level: TableLevel, gfn: Gfn): Errno | null {
  return changeSpte(w, vm, rootName, level, gfn, { kind: 'table' }, ['link']);
}

/** Split the present 2 MiB leaf at `base` into 512 4 KiB leaves (tdp_mmu_split_huge_page()). */
export function splitLeaf(w: World, vm: MmuVm, rootName: RootName, base: Gfn): Errno | null {
  assertModel(vm.mmu[rootName].leaves[1].has(base), 'split of a missing 2M leaf');
  return changeSpte(w, vm, rootName, LEVEL_2M, base, { kind: 'table' }, ['split']);
}

/** G1: PAGE.ADD of a pre-mapped 4 KiB leaf succeeded; the leaf is an ordinary one from now on. */
export function clearPremapped(w: World, vm: MmuVm, gfn: Gfn): void {
  const old = vm.mmu.mirror.leaves[0].get(gfn);
  // A leaf that was never pre-mapped has nothing to clear (a write would be spurious).
  if (old?.premapped !== true) return;
  changeSpte(w, vm, 'mirror', 0, gfn, { kind: 'leaf', spte: { ...old, premapped: false } }, ['flags']);
}

/** Forget every page table of a root, once the S-EPT pages behind them are reclaimed (teardown). */
export function unlinkAllTables(w: World, vm: MmuVm, rootName: RootName): void {
  for (const key of [...vm.mmu[rootName].tables]) {
    const [level, index] = key.split(':').map(Number) as [TableLevel, number];
    changeSpte(w, vm, rootName, level, asGfn(index * pagesAt(level)), null, ['unlink']);
  }
}
