// The body's VM and TD shapes: populates repeated or made busy before a
// FINALIZE, a memslot on another VM's guest_memfd, a VM kept alive by its
// vCPU alone, and every fd closed as a process exit would.

import { MEMSLOT_FLAGS } from '../program/calls.js';
import { aint, type ACall, type AVal } from './abstract.js';
import { conversion, guestRead, guestWrite, K, M2, type BodyDesign } from './build.js';

/**
 * The same INIT_MEM_REGION again after its first page was converted to
 * shared: a second populate of a page guest_memfd already prepared. G1's
 * kvm_gmem_populate() refuses it as prepared (EEXIST) before it asks about
 * the GFN's privacy (EINVAL); later designs ask about privacy first. The
 * conversion goes through the file (`how` 9) or the VM's attributes (10).
 *
 * Or (`how` 11) a busy populate, its page converted, and a FINALIZE
 * (busyPopulateBefore()).
 */
export function repopulateAfter(c: ACall, how: number, design: BodyDesign): ACall[] {
  const gpa = c.args.gpa ?? aint(0);
  const populate: ACall = { op: c.op, picks: c.picks, args: c.args };
  if (how === 11) return busyPopulateBefore({ op: 'KVM_TDX_FINALIZE_VM', picks: [0], args: {} }, c.args.flags, c.picks[0] ?? 0, design);
  const convert = conversion(how % 2 === 1, gpa, K);
  return [populate, convert, populate];
}

/**
 * Before a FINALIZE (`finalize`): a populate of a page of slot 0 past the
 * setup's own populates (pages 0 to 10), which keeps an injected BUSY on its
 * PAGE.ADD, and the conversion of that page. A clean populate of the page
 * before it comes first, so the S-EPT tables are in place and the busy
 * SEAMCALL is the PAGE.ADD itself. G1 maps the page before PAGE.ADD, so the
 * busy ADD leaves it pre-mapped (nr_premapped), the conversion zaps it, and
 * FINALIZE, which G1 refuses while pages are pre-mapped, must then succeed.
 * Random calls seldom zap the one GFN a busy populate left behind before a
 * FINALIZE; most setups finalize, so the shape rides on the body's FINALIZEs.
 * With `retry`, the populate is retried instead of converted: the failed ADD
 * left the page unprepared, so G1 must not refuse it as prepared (EEXIST).
 */
export function busyPopulateBefore(finalize: ACall, flags: AVal | undefined, pick: number, design: BodyDesign, retry = false): ACall[] {
  const page = BigInt(12 + (pick % 4)) * K;
  const region = (at: bigint): ACall => ({ op: 'KVM_TDX_INIT_MEM_REGION', picks: [0], args: { source: { k: 'map', pick: 0, off: 0n }, gpa: aint(at), nr_pages: aint(1n), flags: flags ?? aint(0n) } });
  return [region(page - K), { ...region(page), busy: 1 }, retry ? region(page) : conversion(design.inPlace, aint(page), K), finalize];
}

/**
 * A memslot of the VM just created (`vm`) bound to the first guest_memfd,
 * which another VM (the setup's) created: kvm_gmem_bind() must refuse a
 * file whose gmem->kvm is not the VM. Random bindings pick the newest VM
 * and the first file together too seldom for a second VM to get one.
 */
export function foreignBinding(vm: ACall): ACall[] {
  const slot: ACall = { op: 'KVM_SET_USER_MEMORY_REGION2', picks: [-1], args: { slot: aint(0), flags: aint(MEMSLOT_FLAGS.GUEST_MEMFD), gpa: aint(0), size: aint(M2), uaddr: aint(0), gmem: { k: 'gmem', pick: 0 }, offset: aint(0) } };
  return [vm, slot];
}

/**
 * A VM whose only references are its fd and one vCPU's (a new VM with a
 * plain memslot on a new anonymous mapping: no guest_memfd, whose file
 * would hold one too), its fd closed between the guest's write and read of
 * a page (from `how`): an open vCPU holds a reference on its VM
 * (kvm_get_kvm() at vCPU creation), so the VM lives on and the guest still
 * reads what it wrote. The VM's fd is the second VM handle, which is the
 * new VM's after a setup. Random CLOSEs seldom take a VM's fd alone while
 * nothing else holds it.
 */
export function closeVmUnderVcpu(how: number): ACall[] {
  const gpa = aint(BigInt(how % 4) * K);
  return [
    { op: 'KVM_CREATE_VM', picks: [], args: { type: aint(0) } },
    { op: 'MMAP_ANON', picks: [], args: { size: aint(4n * K) } },
    { op: 'KVM_SET_USER_MEMORY_REGION2', picks: [-1], args: { slot: aint(0), flags: aint(0), gpa: aint(0), size: aint(4n * K), uaddr: { k: 'map', pick: -1, off: 0n }, gmem: aint(-1n), offset: aint(0) } },
    { op: 'KVM_CREATE_VCPU', picks: [-1], args: { id: aint(0) } },
    guestWrite(-1, gpa, 0n, 0x71n),
    { op: 'CLOSE', picks: [1], args: {} },
    guestRead(-1, gpa, 0n),
  ];
}

/**
 * Every fd closed, as a process exit would: the CLOSE that drops a VM's
 * last reference tears its TD down (VP.FLUSH, FREEID, the RECLAIMs), and
 * an injected failure on it reaches one of those SEAMCALLs only when it
 * rides on that CLOSE, so each CLOSE carries it (a CLOSE that issues no
 * SEAMCALL ignores it). Random CLOSEs rarely close a VM's every fd.
 */
export function closeAll(c: ACall): ACall[] {
  return Array.from({ length: 8 }, (_, i): ACall => ({ ...c, picks: [i] }));
}
