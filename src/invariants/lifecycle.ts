// Invariants of the TD's life (tdx.md §1.3, §2.3, §7.1-6, §7.16-19):
// lifecycle order, measurement, bugged VMs, spurious re-adds and the NULL
// source.

import { isLeaf, mrtdOf, rootLeaves, septLeafAt } from '../model/view.js';
import type { TdPhase } from '../oracle/state.js';
import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex, targetVm, VCPU_IOCTLS, VM_IOCTLS } from './util.js';
import { reporter } from './reporter.js';
import { digest, firstMismatch, recordText } from '../oracle/mrtd.js';
import type { Op } from '../program/calls.js';

const ORDER = { UNINITIALIZED: 0, INITIALIZED: 1, RUNNABLE: 2 } as const;
const errno = (c: CheckCtx) => (c.ret.kind === 'errno' ? c.ret.name : undefined);

export const tdLifecycle: Invariant = {
  id: 'td-lifecycle',
  summary: 'TD state only moves forward; ADD and EXTEND only before finalize, AUG only after; pre-fault only after finalize; vCPUs only while INITIALIZED.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const say = reporter(out, this.id, `${c.call.op}: `);
    // Only VMs this step touched, or whose TD got a SEAMCALL, can have moved.
    const quiet = !c.full && c.step.touched.vms.size === 0 && c.step.seamcall.log.length === 0;
    const tds = new Set(quiet ? [] : c.step.seamcall.log.map((r) => r.td));
    const moved = quiet ? [] : [...c.world.vms.values()].filter((vm) => c.full || c.step.touched.vms.has(vm.id) || (vm.tdx?.td != null && tds.has(vm.tdx.td)));
    for (const vm of moved) {
      const b = c.before.vms.get(vm.id);
      if (!vm.tdx || !b || b.bugged) continue;
      const now = vm.tdx.state;
      if (!vm.destroyed && ORDER[now] < ORDER[b.tdState!]) say(`TD of vm${vm.id} went from ${b.tdState} back to ${now}`);
      // The phase the oracle tracked from the calls' answers alone.
      const phase = c.ref.vm(vm.id)?.td?.phase;
      if (!vm.destroyed && !vm.bugged && phase !== undefined && phase !== now) say(`TD of vm${vm.id} is ${now}, but its calls' answers put it in ${phase}`);
      if (vm.tdx.preFaultAllowed && now !== 'RUNNABLE') say(`vm${vm.id} allows pre-fault while ${now}`);
      if (!tds.has(vm.tdx.td)) continue;
      for (const r of c.step.seamcall.log) {
        if (r.td !== vm.tdx.td) continue;
        if ((r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MR.EXTEND') && b.tdState === 'RUNNABLE') say(`${r.name} of GPA ${hex(r.args.gpa)} issued after finalize`);
        if (r.name === 'TDH.MEM.PAGE.AUG' && b.tdState !== 'RUNNABLE') say(`TDH.MEM.PAGE.AUG of GPA ${hex(r.args.gpa)} issued while the TD is ${b.tdState}`);
      }
    }
    lifecycleAnswers(c, say);
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

/**
 * Which TD phase lets each call succeed, and what it answers otherwise
 * (tdx.md §1.3, §8 rows 13-18); null for a call the TD phase does not gate.
 */
const NEEDS: Record<Op, { phase: TdPhase; otherwise?: string[] } | null> = {
  KVM_TDX_INIT_VM: { phase: 'UNINITIALIZED', otherwise: ['EINVAL'] },
  KVM_TDX_FINALIZE_VM: { phase: 'INITIALIZED', otherwise: ['EINVAL'] },
  KVM_CREATE_VCPU: { phase: 'INITIALIZED', otherwise: ['EIO', 'EINVAL'] },
  KVM_TDX_INIT_MEM_REGION: { phase: 'INITIALIZED', otherwise: ['EINVAL'] },
  KVM_PRE_FAULT_MEMORY: { phase: 'RUNNABLE', otherwise: ['EOPNOTSUPP', 'EINVAL'] },
  GUEST_ACCESS: { phase: 'RUNNABLE', otherwise: ['EINVAL'] },
  GUEST_ACCEPT: { phase: 'RUNNABLE', otherwise: ['EINVAL'] },
  KVM_CREATE_VM: null, KVM_CREATE_GUEST_MEMFD: null, KVM_SET_USER_MEMORY_REGION2: null,
  KVM_SET_MEMORY_ATTRIBUTES: null, KVM_SET_MEMORY_ATTRIBUTES2: null, FALLOCATE: null,
  MMAP: null, MMAP_ANON: null, MUNMAP: null, HOST_READ: null, HOST_WRITE: null, HOST_PIN: null, HOST_UNPIN: null,
  CLOSE: null, KVM_TDX_INIT_VCPU: null,
};

/** The lifecycle answers the oracle predicts from the TD phase it tracked itself. */
function lifecycleAnswers(c: CheckCtx, say: (m: string) => void): void {
  const need = NEEDS[c.call.op];
  const phase = c.ref.now.phase;
  const vmId = c.ref.now.vmId;
  if (!need || !phase || vmId === undefined) return;
  const b = c.before.vms.get(vmId);
  if (!b || b.bugged || b.dead) return;
  const e = errno(c);
  if (c.call.op === 'KVM_TDX_FINALIZE_VM' && phase === 'INITIALIZED') finalizeAnswer(c, vmId, e, say);
  if (phase === need.phase) return;
  const progressed = c.call.op === 'KVM_TDX_INIT_MEM_REGION' && (c.ref.now.populated?.gpas.length ?? 0) > 0;
  if (e === undefined || progressed) say(`vm${vmId} answered ${e ?? 'success'}${progressed ? ' after adding pages' : ''} while its TD is ${phase}; it needs ${need.phase}`);
  else if (need.otherwise && !need.otherwise.includes(e)) say(`vm${vmId} answered ${e} while its TD is ${phase}; expected ${need.otherwise.join(' or ')}`);
}

/**
 * FINALIZE of an INITIALIZED TD. TDH.MR.FINALIZE needs an initialised
 * vCPU (TDX_NO_VCPUS otherwise) and KVM does not check first: the TD cannot
 * become RUNNABLE without one (tdx.md §2.5). KVM refuses with EINVAL only
 * where G1 still has pre-mapped pages (tdx_td_finalize(): nr_premapped), and
 * G1 never finalizes with one. A pre-mapped page is counted here as a mirror leaf whose GPA the
 * module never added (its S-EPT entry is FREE), not from KVM's counter: a
 * counter that a zap forgets to drop then shows as a refusal with no such leaf.
 * A non-zero hw_error is refused by the command's preamble before any of it.
 */
function finalizeAnswer(c: CheckCtx, vmId: number, e: string | undefined, say: (m: string) => void): void {
  if (c.ref.initVcpus(vmId) === 0 && e === undefined) say(`vm${vmId} was finalized with no vCPU through KVM_TDX_INIT_VCPU; TDH.MR.FINALIZE refuses that (TDX_NO_VCPUS)`);
  const vm = c.world.vms.get(vmId);
  const td = vm?.tdx?.td;
  if (!vm || td == null || (c.call.args.hw_error ?? 0n) !== 0n) return;
  const waiting = rootLeaves(vm.mmu.mirror).filter((l) => septLeafAt(c.world.tdx, td, l.base * 4096) === undefined).length;
  const g1 = c.world.profile.settings.generation === 'G1';
  if (e === 'EINVAL' && !(g1 && waiting > 0)) say(`vm${vmId} refused KVM_TDX_FINALIZE_VM with EINVAL while its TD is INITIALIZED${g1 ? ' and no mirror leaf waits for its PAGE.ADD' : ''}`);
  if (e === undefined && g1 && waiting > 0) say(`vm${vmId} was finalized while ${waiting} mirror leaf(s) still wait for their PAGE.ADD (G1 refuses while pages are pre-mapped)`);
}

const logTds = new WeakMap<object, Set<number | null>>();

/** The TDs this step issued SEAMCALLs for, computed once per step. */
function tdsInLog(c: CheckCtx): Set<number | null> {
  let s = logTds.get(c.step);
  if (!s) logTds.set(c.step, (s = new Set(c.step.seamcall.log.map((r) => r.td))));
  return s;
}

export const measurement: Invariant = {
  id: 'measurement',
  summary: 'MRTD changes only through PAGE.ADD and MR.EXTEND before finalize, is append-only, covers each measured page with 16 EXTENDs, and equals the oracle\'s own SHA-384 of those operations.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    const say = reporter(out, this.id, `${c.call.op}: `);
    const log = c.step.seamcall.log;
    for (const vm of c.world.vms.values()) {
      const b = c.before.vms.get(vm.id);
      const td = vm.tdx?.td;
      if (td == null || !b || b.bugged || vm.bugged) continue;
      const { records, finalized: fin } = mrtdOf(c.world.tdx, td);
      // The model's own bookkeeping: this step's records are its measured SEAMCALLs.
      if (log.length > 0 && tdsInLog(c).has(td)) {
        const added = log.filter((r) => r.td === td && r.status === 'TDX_SUCCESS' && (r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MR.EXTEND'));
        if (records.length !== b.mrtdRecords + added.length) say(`MRTD of vm${vm.id} holds ${records.length} records, expected ${b.mrtdRecords} + ${added.length} measured operations of this step`);
      }
      // The oracle's recomputation: same records, same content, same digest.
      const ref = c.ref.vm(vm.id)?.td;
      if (!ref) continue;
      if (records.length !== ref.count) {
        say(`MRTD of vm${vm.id} holds ${records.length} records; the oracle measured ${ref.count}`);
        continue;
      }
      const from = c.full ? 0 : c.ref.now.vmId === vm.id ? (c.ref.now.pagesBefore ?? 0) : ref.pages.length;
      const bad = from < ref.pages.length ? firstMismatch(records, ref, from) : null;
      if (bad) say(`MRTD record ${bad.index} of vm${vm.id} is ${recordText(bad.model)}; the oracle expected ${recordText(bad.oracle)}`);
      if (fin !== null && (c.full || c.call.op === 'KVM_TDX_FINALIZE_VM') && fin !== digest(ref)) say(`finalized MRTD of vm${vm.id} is ${fin.slice(0, 16)}..., the oracle's SHA-384 is ${digest(ref).slice(0, 16)}...`);
    }
    // Coverage: every page INIT_MEM_REGION measured got 16 x 256-byte MR.EXTENDs.
    const pop = c.ref.now.populated;
    const vmId = c.ref.now.vmId;
    const b = vmId === undefined ? undefined : c.before.vms.get(vmId);
    if (pop?.measure && b && !b.bugged && !c.world.vms.get(vmId!)?.bugged) {
      // The offsets each page's successful EXTENDs covered, in one pass over the log (a region may measure thousands of pages).
      const offsByPage = new Map<number, Set<number>>();
      const first = pop.gpas[0] ?? 0;
      for (const r of log) {
        if (!isLeaf(r, 'TDH.MR.EXTEND') || r.status !== 'TDX_SUCCESS') continue;
        // The populated page whose 4 KiB the EXTEND falls in (the region's pages are consecutive from its first GPA).
        const page = first + Math.floor((r.args.gpa - first) / 4096) * 4096;
        let offs = offsByPage.get(page);
        if (!offs) offsByPage.set(page, (offs = new Set()));
        offs.add(r.args.gpa - page);
      }
      for (const gpa of pop.gpas) {
        const offs = offsByPage.get(gpa) ?? new Set<number>();
        const whole = offs.size === 16 && [...offs].every((o) => o % 256 === 0);
        if (!whole) say(`measured page GPA ${hex(gpa)} got ${offs.size} of 16 MR.EXTENDs`);
      }
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
    const say = reporter(out, this.id, `${c.call.op} GPA ${hex(c.call.args.gpa)}: `);
    const gpa = Number(c.call.args.gpa);
    const gfn = gpa / 4096;
    const onGpa = c.step.seamcall.log.filter((r) => isLeaf(r, 'TDH.MEM.PAGE.ADD', 'TDH.MEM.PAGE.AUG')).filter((r) => r.args.gpa === gpa);
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
    const say = reporter(out, this.id, `${c.call.op} source=0 GPA ${hex(c.call.args.gpa)}: `);
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

