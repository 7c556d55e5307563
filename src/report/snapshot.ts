// A picture-sized snapshot of the memory state after a step: GFN ranges with
// memslots and attributes, guest_memfd runs with folio sizes, mirror and
// S-EPT leaves with levels and states, and PAMT owners of the frames shown.
// Plain data, so two snapshots can be drawn side by side.

import { pagesAt } from '../model/units.js';
import { getAt } from '../model/intervals.js';
import type { World } from '../model/world.js';

/** At most this many items per lane: a picture, not a dump. */
const CAP = 96;

export interface Snapshot {
  vms: Array<{
    id: number;
    type: string;
    tdState: string | null;
    bugged: boolean;
    slots: Array<{ id: number; start: number; end: number; gmemId: number | null; pgoff: number }>;
    privateRanges: Array<[number, number]>;
    mirror: Array<{ gfn: number; pages: number; pfn: number }>;
    direct: Array<{ gfn: number; pages: number; pfn: number; private: boolean }>;
    sept: Array<{ gfn: number; pages: number; pfn: number; state: string }>;
  }>;
  gmems: Array<{ id: number; vmId: number; sizePages: number; released: boolean; runs: Array<{ start: number; end: number; pfn: number; order: number }>; privateRanges: Array<[number, number]> }>;
  pamt: Array<{ pfn: number; owner: number; type: string }>;
  truncated: boolean;
}

export function snapshot(w: World): Snapshot {
  let truncated = false;
  const cap = <T>(xs: T[]): T[] => {
    if (xs.length > CAP) truncated = true;
    return xs.slice(0, CAP);
  };
  const pfns = new Set<number>();
  const vms: Snapshot['vms'] = [];
  for (const vm of w.vms.values()) {
    if (vm.destroyed) continue;
    const leaves = (root: 'mirror' | 'direct') => ([0, 1, 2] as const).flatMap((l) => [...vm.mmu[root].leaves[l]].map(([gfn, s]) => ({ gfn, pages: pagesAt(l), pfn: s.pfn, private: s.private })));
    const mirror = cap(leaves('mirror').sort((a, b) => a.gfn - b.gfn));
    const direct = cap(leaves('direct').sort((a, b) => a.gfn - b.gfn));
    const td = vm.tdx?.td != null ? w.tdx.tds.get(vm.tdx.td) : undefined;
    const sept = cap(td ? [...td.leaves[0].values(), ...td.leaves[1].values()].map((l) => ({ gfn: l.gpa / 4096, pages: pagesAt(l.level), pfn: l.pfn, state: l.state })).sort((a, b) => a.gfn - b.gfn) : []);
    for (const l of [...mirror, ...direct, ...sept]) pfns.add(l.pfn);
    vms.push({
      id: vm.id, type: vm.type, tdState: vm.tdx?.state ?? null, bugged: vm.bugged,
      slots: vm.memslots.map((s) => ({ id: s.id, start: s.baseGfn, end: s.baseGfn + s.npages, gmemId: s.gmemId, pgoff: s.pgoff })),
      privateRanges: cap(vm.attrs.segs.map((s) => [s.start, s.end] as [number, number])),
      mirror: mirror.map(({ private: _p, ...m }) => m), direct, sept,
    });
  }
  const gmems: Snapshot['gmems'] = [...w.gmems.values()].map((g) => ({
    id: g.id, vmId: g.vmId, sizePages: g.inode.sizePages, released: g.released,
    runs: cap(g.inode.pages.segs.map((s) => ({ start: s.start, end: s.end, pfn: s.start + s.value.delta, order: s.value.order }))),
    privateRanges: cap(g.inode.priv.segs.map((s) => [s.start, s.end] as [number, number])),
  }));
  for (const g of gmems) for (const r of g.runs) pfns.add(r.pfn);
  const pamt = cap([...pfns].sort((a, b) => a - b).flatMap((pfn) => {
    const e = getAt(w.tdx.pamt, pfn);
    return e ? [{ pfn, owner: e.owner, type: e.type }] : [];
  }));
  return { vms, gmems, pamt, truncated };
}
