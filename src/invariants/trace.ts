// The checking runner's listener on the model's tracepoints. When
// guest_memfd frees frames, record every live leaf, of any VM and root, that
// still maps one of them: no-dangling-sept reads the record, which must be
// taken at the free, before a later zap of the same step can hide the leaf.
// The walk is over leaves (what the guests faulted in), never over the frames
// of the range, and reads the state through the view only.

import { LEVELS, pagesAt, type StepTrace, type World } from '../model/view.js';

function leavesOverFrames(w: World, start: number, end: number): string[] {
  const out: string[] = [];
  for (const vm of w.vms.values()) {
    if (vm.destroyed) continue;
    for (const rootName of ['mirror', 'direct'] as const) {
      const root = vm.mmu[rootName];
      for (const level of LEVELS) {
        for (const [base, spte] of root.leaves[level]) {
          const n = pagesAt(level);
          if (spte.pfn < end && start < spte.pfn + n) {
            out.push(`vm${vm.id} ${rootName} GFN 0x${base.toString(16)} -> PFN 0x${spte.pfn.toString(16)}${n > 1 ? ` (${n} pages)` : ''}${vm.bugged ? ' [bugged VM]' : ''}`);
          }
        }
      }
    }
  }
  return out;
}

const traces = new WeakMap<World, StepTrace>();

/** The listener for one world's steps (one per world, reused). */
export function stepTrace(w: World): StepTrace {
  let t = traces.get(w);
  if (!t) traces.set(w, (t = { framesFreed: (start, end) => leavesOverFrames(w, start, end) }));
  return t;
}
