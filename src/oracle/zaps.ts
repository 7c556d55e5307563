// Zaps the TDX module refused, read from the SEAMCALL log: KVM clears the
// mirror leaf whatever the module answers (tdx.md §5.4), so these are the
// only GFNs whose S-EPT entry may outlive the mirror's (mirror-sept-agree).

import type { StepCtx, World } from '../model/world.js';
import { pagesAt } from '../model/view.js';
import type { RefState } from './state.js';

const ZAP = new Set(['TDH.MEM.RANGE.BLOCK', 'TDH.MEM.PAGE.REMOVE', 'TDH.MEM.PAGE.DEMOTE']);

/** Failed zap SEAMCALLs of the step, by the VM whose TD they were issued for. */
export function noteFailedZaps(ref: RefState, w: World, step: StepCtx): void {
  for (const r of step.seamcall.log) {
    if (r.status === 'TDX_SUCCESS' || r.td === null || (!ZAP.has(r.name) && r.name !== 'TDH.MEM.TRACK')) continue;
    const vm = [...ref.vms.values()].find((v) => v.td && w.vms.get(v.id)?.tdx?.td === r.td);
    if (!vm) continue;
    if (r.name === 'TDH.MEM.TRACK') vm.trackFailed = true;
    else if ('gpa' in r.args && 'level' in r.args) {
      const gfn = r.args.gpa / 4096;
      vm.zapFailed.set(gfn, gfn + pagesAt(r.args.level), true);
    }
  }
}
