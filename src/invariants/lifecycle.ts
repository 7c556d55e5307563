// Invariants of the TD's life (tdx.md §1.3, §2.3, §7.1-6, §7.16-19):
// lifecycle order, measurement, bugged VMs, spurious re-adds and the NULL
// source.

import * as q from '../model/tdx/seamcall.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex, targetVm, VCPU_IOCTLS, VM_IOCTLS } from './util.js';

const ORDER = { UNINITIALIZED: 0, INITIALIZED: 1, RUNNABLE: 2 } as const;
const errno = (c: CheckCtx) => (c.ret.kind === 'errno' ? c.ret.name : undefined);

export const tdLifecycle: Invariant = {
  id: 'td-lifecycle',
  summary: 'TD state only moves forward; ADD and EXTEND only before finalize, AUG only after; pre-fault only after finalize; vCPUs only while INITIALIZED.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const say = (m: string) => out.push({ invariant: this.id, message: `${c.call.op}: ${m}` });
    // Only VMs this step touched, or whose TD got a SEAMCALL, can have moved.
    const quiet = c.step.touched.vms.size === 0 && c.step.seamcall.log.length === 0;
    const tds = new Set(quiet ? [] : c.step.seamcall.log.map((r) => r.td));
    const moved = quiet ? [] : [...c.world.vms.values()].filter((vm) => c.step.touched.vms.has(vm.id) || (vm.tdx?.td != null && tds.has(vm.tdx.td)));
    for (const vm of moved) {
      const b = c.before.vms.get(vm.id);
      if (!vm.tdx || !b || b.bugged) continue;
      const now = vm.tdx.state;
      if (!vm.destroyed && ORDER[now] < ORDER[b.tdState!]) say(`TD of vm${vm.id} went from ${b.tdState} back to ${now}`);
      if (vm.tdx.preFaultAllowed && now !== 'RUNNABLE') say(`vm${vm.id} allows pre-fault while ${now}`);
      for (const r of c.step.seamcall.log) {
        if (r.td !== vm.tdx.td) continue;
        if ((r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MR.EXTEND') && b.tdState === 'RUNNABLE') say(`${r.name} of GPA ${hex(r.args.gpa)} issued after finalize`);
        if (r.name === 'TDH.MEM.PAGE.AUG' && b.tdState !== 'RUNNABLE') say(`TDH.MEM.PAGE.AUG of GPA ${hex(r.args.gpa)} issued while the TD is ${b.tdState}`);
      }
    }
    const vm = targetVm(c.world, c.call);
    const b = vm ? c.before.vms.get(vm.id) : undefined;
    if (vm?.tdx && b && !b.bugged) {
      if (c.call.op === 'KVM_PRE_FAULT_MEMORY' && !b.preFaultAllowed) {
        const e = errno(c);
        if (e !== 'EOPNOTSUPP' && e !== 'EINVAL') say(`KVM_PRE_FAULT_MEMORY before finalize returned ${e ?? 'success'}; expected EOPNOTSUPP`);
      }
      if (c.call.op === 'KVM_CREATE_VCPU' && c.ret.kind === 'outcome' && b.tdState !== 'INITIALIZED') say(`vCPU created while the TD is ${b.tdState}`);
    }
    return out;
  },
};

export const measurement: Invariant = {
  id: 'measurement',
  summary: 'MRTD changes only through PAGE.ADD and MR.EXTEND before finalize, is append-only, and equals the hash of exactly those operations.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    // MRTD changes only through SEAMCALLs: a step that issued none cannot move it.
    if (c.step.seamcall.log.length === 0) return out;
    for (const vm of c.world.vms.values()) {
      const b = c.before.vms.get(vm.id);
      const td = vm.tdx?.td;
      if (td == null || !b || b.bugged) continue;
      const added = c.step.seamcall.log.filter((r) => r.td === td && r.status === 'TDX_SUCCESS' && (r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MR.EXTEND'));
      const now = q.mrtdRecordCount(c.world.tdx, td);
      if (now !== b.mrtdRecords + added.length) {
        out.push({ invariant: this.id, message: `${c.call.op}: MRTD of vm${vm.id} holds ${now} records, expected ${b.mrtdRecords} + ${added.length} measured operations of this step` });
        continue;
      }
      const tail = q.mrtdRecords(c.world.tdx, td).slice(b.mrtdRecords);
      tail.forEach((rec, i) => {
        const r = added[i];
        const op = r.name === 'TDH.MEM.PAGE.ADD' ? 'ADD' : 'EXTEND';
        if (rec.op !== op || rec.gpa !== r.args.gpa) out.push({ invariant: this.id, message: `${c.call.op}: MRTD record ${b.mrtdRecords + i} is ${rec.op} ${hex(rec.gpa)}, expected ${op} ${hex(r.args.gpa)}` });
      });
    }
    return out;
  },
};

/** What a bugged VM may still ask of the module: the zap path and teardown (tdx.md §1.4, §7.16). */
const AFTER_BUG = new Set([
  'TDH.MEM.RANGE.BLOCK', 'TDH.MEM.TRACK', 'TDH.MEM.PAGE.REMOVE', 'TDH.PHYMEM.PAGE.WBINVD',
  'TDH.VP.FLUSH', 'TDH.MNG.VPFLUSHDONE', 'TDH.PHYMEM.CACHE.WB', 'TDH.MNG.KEY.FREEID', 'TDH.PHYMEM.PAGE.RECLAIM',
]);

export const buggedVm: Invariant = {
  id: 'bugged-vm',
  summary: 'Once a VM is bugged, every VM and vCPU call returns EIO and no further map SEAMCALL is issued for it (zaps and teardown still run).',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    for (const vm of c.world.vms.values()) {
      const b = c.before.vms.get(vm.id);
      if (!b?.bugged || vm.tdx?.td == null) continue;
      const issued = c.step.seamcall.log.filter((r) => r.td === vm.tdx!.td && !AFTER_BUG.has(r.name));
      if (issued.length > 0) out.push({ invariant: this.id, message: `${c.call.op}: ${issued[0].name} issued for bugged vm${vm.id}` });
    }
    const vm = targetVm(c.world, c.call);
    if (vm && c.before.vms.get(vm.id)?.bugged && (VM_IOCTLS.has(c.call.op) || VCPU_IOCTLS.has(c.call.op)) && errno(c) !== 'EIO') {
      out.push({ invariant: this.id, message: `${c.call.op} on bugged vm${vm.id} returned ${c.ret.kind === 'errno' ? c.ret.name : 'success'}; expected EIO` });
    }
    return out;
  },
};

export const spuriousEio: Invariant = {
  id: 'spurious-eio',
  summary: 'INIT_MEM_REGION on a mapped GPA returns EIO (g1: EEXIST) with no SEAMCALL and no bug; PRE_FAULT on a present leaf succeeds with no SEAMCALL.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const vm = targetVm(c.world, c.call);
    const b = vm ? c.before.vms.get(vm.id) : undefined;
    if (!vm?.tdx || !b || !c.before.mirrorLeafAtGpa || b.bugged || b.dead) return out;
    const say = (m: string) => out.push({ invariant: this.id, message: `${c.call.op} GPA ${hex(c.call.args.gpa)}: ${m}` });
    const gpa = Number(c.call.args.gpa);
    const gfn = gpa / 4096;
    const onGpa = c.step.seamcall.log.filter((r) => r.args.gpa === gpa && (r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MEM.PAGE.AUG'));
    if (c.call.op === 'KVM_TDX_INIT_MEM_REGION') {
      // Errors of earlier checks (validation, populate's own EINVAL/EFAULT)
      // may come first; what must never happen is success, a SEAMCALL or a bug.
      if (c.ret.kind !== 'errno') say('succeeded for a GPA whose mirror leaf is present; expected EIO (RET_PF_SPURIOUS)');
      const reachedMap = c.step.populated.some((p) => p.gfn === gfn);
      const want = c.world.profile.settings.generation === 'G1' ? 'EEXIST' : 'EIO';
      if (reachedMap && errno(c) !== want) say(`reached the map path and returned ${errno(c) ?? 'success'}; expected ${want}`);
      if (onGpa.length > 0) say(`issued ${onGpa[0].name} for a GPA whose mirror leaf is present`);
      if (vm.bugged) say('bugged the VM; a spurious re-add must leave it running');
    }
    if (c.call.op === 'KVM_PRE_FAULT_MEMORY' && b.preFaultAllowed && onGpa.length > 0) say(`issued ${onGpa[0].name} for a present leaf`);
    return out;
  },
};

export const nullSource: Invariant = {
  id: 'null-source',
  summary: 'INIT_MEM_REGION with source=0 succeeds only with in-place conversion, adding what userspace wrote into the target page; otherwise EINVAL with no SEAMCALL (g1: the GUP of address 0 fails first).',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    if (c.call.op !== 'KVM_TDX_INIT_MEM_REGION' || c.call.args.source !== 0n) return out;
    const vm = targetVm(c.world, c.call);
    if (!vm?.tdx || c.before.vms.get(vm.id)?.bugged) return out;
    const say = (m: string) => out.push({ invariant: this.id, message: `${c.call.op} source=0 GPA ${hex(c.call.args.gpa)}: ${m}` });
    if (c.world.profile.settings.nullSource === 'gup') {
      // G1 GUPs address 0 like any other source: it fails before any page is added.
      if (c.ret.kind !== 'errno' || c.step.populated.length > 0 || c.step.seamcall.log.length > 0) {
        say(`returned ${errno(c) ?? 'success'} after adding ${c.step.populated.length} page(s) with ${c.step.seamcall.log.length} SEAMCALL(s); expected the GUP of address 0 to fail first`);
      }
      return out;
    }
    if (!c.world.profile.settings.inPlaceConversion) {
      const e = errno(c);
      if (c.step.populated.length > 0 || c.step.seamcall.log.length > 0 || (e !== 'EINVAL' && e !== 'EIO')) {
        say(`returned ${e ?? 'success'} after adding ${c.step.populated.length} page(s) with ${c.step.seamcall.log.length} SEAMCALL(s) without in-place conversion; expected EINVAL before any SEAMCALL`);
      }
      return out;
    }
    for (const p of c.step.populated) {
      const now = c.world.phys.bytes.get(p.pfn) ?? 0;
      if (now !== p.srcByte) say(`GFN ${hex(p.gfn)} holds ${hex(now)} after the in-place add; userspace wrote ${hex(p.srcByte)}`);
    }
    return out;
  },
};

