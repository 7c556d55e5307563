// The one registry of invariants, in the order of invariants.md. The runner
// checks all of them after every step; nothing else calls them.

import { errnoContract, noException } from './errno_contract.js';
import { gmemBindings, noHostPrivateAccess, zeroBeforeExposure } from './gmem.js';
import { buggedVm, measurement, nullSource, spuriousEio, tdLifecycle } from './lifecycle.js';
import { attrConsistency, mirrorSeptAgree, noDanglingSept, pfnSingleOwner } from './mappings.js';
import { hugepageFolioAgnostic, noDoubleAdd, removalOrder } from './seamcalls.js';
import { contentIntegrity } from './content.js';
import { frameLiveness } from './frame_liveness.js';
import { noUnexpectedBug } from './unexpected_bug.js';
import type { CheckCtx, Invariant, Violation } from './types.js';

export const INVARIANTS: readonly Invariant[] = [
  noDoubleAdd, spuriousEio, hugepageFolioAgnostic, nullSource, noHostPrivateAccess,
  noDanglingSept, mirrorSeptAgree, pfnSingleOwner, attrConsistency, tdLifecycle,
  measurement, removalOrder, gmemBindings, zeroBeforeExposure, contentIntegrity, buggedVm, errnoContract, noException,
  frameLiveness, noUnexpectedBug,
];

export const INVARIANT_IDS = INVARIANTS.map((i) => i.id);

export function checkAll(c: CheckCtx): Violation[] {
  const out: Violation[] = [];
  for (const inv of INVARIANTS) {
    try {
      const found = inv.check(c);
      for (let i = 0; i < found.length; i++) out.push(found[i]);
    } catch (e) {
      // A checker that throws is a harness defect; report it rather than hide it.
      out.push({ invariant: 'no-exception', message: `invariant ${inv.id} threw ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  return out;
}
