// content-integrity: every host or guest access lands where the oracle says
// it may, and a read returns the byte last written there, unless a zeroing
// event the semantics name came in between (first allocation, punch hole,
// TDG.MEM.PAGE.ACCEPT), and a private page a TD holds stays reachable
// until a named event takes it away. The oracle (src/oracle) predicts all
// of it from the calls alone; this check only compares.

import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex } from './util.js';
import { liveGmem, mappingAtVa, slotOf } from '../oracle/places.js';
import type { Op } from '../program/calls.js';

const READS: ReadonlySet<string> = new Set<Op>(['HOST_READ', 'GUEST_ACCESS']);
const HOST: ReadonlySet<string> = new Set<Op>(['HOST_READ', 'HOST_WRITE']);

/**
 * INIT_MEM_REGION copies each source page in turn (get_user_pages_fast() in
 * tdx_gmem_post_populate(), or its G1 GUP in the TDX hook); a source page of
 * a live anonymous mapping is always there, so EFAULT at it is wrong.
 */
function sourceReadable(c: CheckCtx, out: Violation[]): void {
  const a = c.call.args;
  if (c.call.op !== 'KVM_TDX_INIT_MEM_REGION' || c.ret.kind !== 'errno' || c.ret.name !== 'EFAULT' || !a.source) return;
  const done = c.ref.now.populated?.gpas.length ?? 0;
  const va = a.source + BigInt(done) * 4096n;
  // EFAULT also means the target has no guest_memfd behind it (kvm_gmem_populate()): judge the source only where it has one.
  const vm = c.ref.now.vmId === undefined ? undefined : c.ref.vm(c.ref.now.vmId);
  const gfn = Number(a.gpa >> 12n) + done;
  if (!vm || !liveGmem(c.ref.state, slotOf(vm, gfn))) return;
  const m = mappingAtVa(c.ref.state, va);
  if (m && m.gmem === null) out.push({ invariant: 'content-integrity', message: `${c.call.op}: EFAULT at source ${hex(va)}, which is a page of live anonymous mapping ${m.id}` });
}

export const contentIntegrity: Invariant = {
  id: 'content-integrity',
  summary: 'Every host or guest access reaches only a page it may reach, and a read returns the byte last written there unless a named zeroing event came between.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    if (c.ref.broken) out.push({ invariant: this.id, message: `${c.call.op}: the oracle failed: ${c.ref.broken}` });
    sourceReadable(c, out);
    const acc = c.ref.now.access;
    if (!acc) return out;
    const vmId = c.ref.now.vmId;
    const b = vmId === undefined ? undefined : c.before.vms.get(vmId);
    if (b && (b.bugged || b.dead)) return out;
    const a = c.call.args;
    const what = c.call.op === 'GUEST_ACCESS' ? `GUEST_ACCESS of GPA ${hex(a.gpa)} (${a.private !== 0n ? 'private' : 'shared'})` : `${c.call.op} at offset ${hex(a.offset)}`;
    const r = c.ret;
    const succeeded = r.kind === 'int' || (r.kind === 'outcome' && r.name === 'OK');
    if (!succeeded) {
      // A TD's accepted private page stays mapped until a named event takes
      // it away (oracle/accepted.ts): KVM never removes it on its own, so an
      // access that now faults, kills the TD or fails lost the guest's data.
      const must = c.ref.now.mustReach;
      if (must !== undefined) out.push({ invariant: this.id, message: `${what} answered ${r.kind === 'errno' ? r.name : r.kind === 'outcome' ? r.name : 'a failure'}, but ${must}` });
      // Anonymous memory has no private state: a host access inside a live
      // anonymous mapping has nothing that may refuse it (the VMA lookup of
      // lock_vma_under_rcu()/find_vma() finds it, the fault allocates).
      if (HOST.has(c.call.op) && acc.reach.ok && acc.reach.place.kind === 'anon') {
        out.push({ invariant: this.id, message: `${c.call.op}: ${what} of anonymous mapping ${acc.reach.place.mapping} answered ${r.kind === 'errno' ? r.name : r.kind === 'outcome' ? r.name : 'a failure'}, but the page is inside a live mapping` });
      }
      return out;
    }
    if (!acc.reach.ok) {
      out.push({ invariant: this.id, message: `${c.call.op}: ${what} succeeded, but it may reach no page (${acc.reach.why})` });
      return out;
    }
    // A TD reaches a private page only once it is MAPPED in the S-EPT, which
    // takes an accept or a PAGE.ADD; a PENDING one kills the TD instead
    // (SEPT_VE_DISABLE), and a missing one is mapped PENDING first.
    const never = c.ref.now.neverAccepted;
    if (never !== undefined) out.push({ invariant: this.id, message: `${c.call.op}: ${what} succeeded, but the TD never accepted GFN ${hex(never)} and INIT_MEM_REGION never added it` });
    const isRead = READS.has(c.call.op) && !(c.call.op === 'GUEST_ACCESS' && c.call.args.write !== 0n);
    if (isRead && r.kind === 'int' && Number(r.value) !== acc.before) {
      const p = acc.reach.place;
      const where = p.kind === 'gmem' ? `g${p.gmem} index ${hex(p.index)}` : `anonymous page ${hex(p.page)} of mapping ${p.mapping}`;
      out.push({ invariant: this.id, message: `${c.call.op}: ${what} read ${hex(r.value)} from ${where}, which last held ${hex(acc.before)}` });
    }
    return out;
  },
};
