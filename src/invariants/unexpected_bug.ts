// no-unexpected-bug: a VM of a sound design is bugged (TDX_BUG_ON) only for a
// cause the semantics name (tdx.md §1.4, §2.1, §2.5, §3.3, §7.16), never
// because a SEAMCALL KVM issued failed where nothing predicts a failure.
//
// The cause is read from observables only: the call and its arguments, the
// step's SEAMCALL log (names, statuses, which one an injected [busy=N] hit)
// and the state before the step. Nothing the model writes about why it bugged
// a VM is trusted. Every VM is compared with its state before the step, so
// the check is already a full sweep and CheckCtx.full changes nothing.
//
// The causes a sound design may reach from a program:
// - KVM_TDX_FINALIZE_VM on a TD with no vCPU through KVM_TDX_INIT_VCPU:
//   TDH.MR.FINALIZE answers TDX_NO_VCPUS and KVM does not pre-check it
//   (tdx.md §2.5, scenario 29);
// - an injected TDX_OPERAND_BUSY on a SEAMCALL whose caller has no BUSY
//   handling, so the status is a TDX_BUG_ON like any other error (tdx.md §2.1,
//   §3.3, §1.4 step 2), or on TDH.PHYMEM.CACHE.WB, which only warns but makes
//   the TDH.MNG.KEY.FREEID after it fail. Busy on SEPT.ADD, PAGE.ADD and PAGE.AUG is retried,
//   on MR.FINALIZE it is EBUSY, on BLOCK, TRACK, REMOVE and DEMOTE it is
//   retried once with the vCPUs kicked out, which a single injection cannot
//   defeat; RECLAIM leaks the page without bugging the VM.

import type { SeamcallRecord } from '../model/tdx/seamcall.js';
import type { Vm } from '../model/kvm/vm.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex } from './frames.js';

/** SEAMCALLs whose BUSY status KVM does not handle, so it bugs the VM (G3). */
const BUSY_IS_BUG_G3 = new Set([
  'TDH.MNG.CREATE', 'TDH.MNG.KEY.CONFIG', 'TDH.MNG.ADDCX', 'TDH.MNG.INIT',
  'TDH.VP.CREATE', 'TDH.VP.ADDCX', 'TDH.VP.INIT',
  'TDH.MR.EXTEND', 'TDH.PHYMEM.PAGE.WBINVD',
  'TDH.VP.FLUSH', 'TDH.MNG.VPFLUSHDONE', 'TDH.MNG.KEY.FREEID',
]);

/** G1 returned EIO from a failed MR.EXTEND without bugging the VM (tdx.md §2.3, G1 deltas). */
const BUSY_IS_BUG_G1 = new Set([...BUSY_IS_BUG_G3].filter((n) => n !== 'TDH.MR.EXTEND'));

/** The VM a VM-fd call was aimed at, read from the fd table. */
function vmOfCall(c: CheckCtx): number | undefined {
  const fd = c.call.handles[0];
  const e = fd === undefined ? undefined : c.world.fds.get(fd);
  return e?.kind === 'vm' ? e.id : undefined;
}

/** Whether a SEAMCALL record was issued on behalf of this VM's TD. */
function recordOf(c: CheckCtx, vm: Vm, r: SeamcallRecord): boolean {
  const t = vm.tdx;
  if (!t) return false;
  if (r.td !== null) return r.td === t.td;
  // TDH.MNG.CREATE precedes the TD; TDH.PHYMEM.PAGE.WBINVD names the HKID.
  if (r.name === 'TDH.MNG.CREATE') return c.call.op === 'KVM_TDX_INIT_VM' && vmOfCall(c) === vm.id;
  // The HKID as it was before the step: a teardown in the same step may have released it.
  const hkid = c.before.vms.get(vm.id)?.hkid ?? t.hkid;
  return 'hkid' in r.args && hkid !== null && r.args.hkid === hkid;
}

/**
 * A failed SEAMCALL KVM handles without bugging the VM, so it does not stand
 * between an injected BUSY and the bug it caused: under G1, a BLOCK that
 * finds the entry not present before finalize is the zap of a leaf that was
 * pre-mapped and never ADDed (tdx_is_sept_zap_err_due_to_premap()).
 */
function handledQuietly(c: CheckCtx, vm: Vm, r: SeamcallRecord): boolean {
  return c.world.profile.settings.generation === 'G1' && r.name === 'TDH.MEM.RANGE.BLOCK' && r.status === 'TDX_EPT_ENTRY_STATE_INCORRECT'
    && c.before.vms.get(vm.id)?.tdState !== 'RUNNABLE';
}

/** Why the VM may have been bugged in this step, or undefined if nothing the semantics list explains it. */
function explain(c: CheckCtx, vm: Vm, mine: SeamcallRecord[]): string | undefined {
  const last = mine[mine.length - 1];
  if (!last) return undefined;
  const b = c.before.vms.get(vm.id);
  if (c.call.op === 'KVM_TDX_FINALIZE_VM' && vmOfCall(c) === vm.id && last.name === 'TDH.MR.FINALIZE'
    && last.status === 'TDX_NO_VCPUS' && b !== undefined && b.initVcpus === 0) {
    return 'FINALIZE with no initialised vCPU';
  }
  const busyAt = c.call.busy;
  const injected = busyAt !== undefined ? c.step.seamcall.log[busyAt - 1] : undefined;
  const noBusyHandling = c.world.profile.settings.generation === 'G1' ? BUSY_IS_BUG_G1 : BUSY_IS_BUG_G3;
  // The injected BUSY must be the VM's first failure of the step; the zap
  // path goes on after a TDX_BUG_ON, so it need not be the last SEAMCALL.
  const firstFail = mine.find((r) => r.status !== 'TDX_SUCCESS' && !handledQuietly(c, vm, r));
  if (injected && injected === firstFail && injected.status === 'TDX_OPERAND_BUSY' && noBusyHandling.has(injected.name)) {
    return `injected BUSY on ${injected.name}`;
  }
  // A failed cache flush only warns, but TDH.MNG.KEY.FREEID then fails and bugs the VM (tdx_mmu_release_hkid()).
  if (injected?.name === 'TDH.PHYMEM.CACHE.WB' && injected.status === 'TDX_OPERAND_BUSY' && last.name === 'TDH.MNG.KEY.FREEID' && last.status !== 'TDX_SUCCESS') {
    return 'TDH.MNG.KEY.FREEID after an injected BUSY on TDH.PHYMEM.CACHE.WB';
  }
  return undefined;
}

export const noUnexpectedBug: Invariant = {
  id: 'no-unexpected-bug',
  summary: 'A VM is bugged only for a cause the semantics list (FINALIZE with no initialised vCPU, an injected BUSY on a SEAMCALL KVM does not retry), never because a SEAMCALL failed unexpectedly.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    if (!c.world.profile.sound) return out;
    for (const vm of c.world.vms.values()) {
      if (!vm.bugged || c.before.vms.get(vm.id)?.bugged) continue;
      const mine = c.step.seamcall.log.filter((r) => recordOf(c, vm, r));
      if (explain(c, vm, mine) !== undefined) continue;
      const failed = mine.filter((r) => r.status !== 'TDX_SUCCESS');
      const what = failed.length > 0
        ? `after ${failed.map((r) => `${r.name}${'gpa' in r.args ? ` GPA ${hex(r.args.gpa)}` : ''}${'pfn' in r.args ? ` PFN ${hex(r.args.pfn)}` : ''} -> ${r.status}`).join(', ')}`
        : mine.length > 0 ? `with every SEAMCALL of the step successful (last ${mine[mine.length - 1].name})` : 'with no SEAMCALL issued for it';
      out.push({ invariant: this.id, message: `${c.call.op}: vm${vm.id} was bugged ${what}; no cause the semantics list explains it` });
    }
    return out;
  },
};
