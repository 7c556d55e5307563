// Seeded bugs: each re-introduces one known class of kernel bug into the
// model, and names the invariant it must trip. `--bug NAME` turns one on.

export interface BugSpec {
  name: string;
  invariant: string;
  description: string;
  /** The design the bug is hunted under in tests (default upstream). */
  profile?: 'hugepage' | 'inplace';
}

export const BUGS = [
  { name: 'map-ignores-present-leaf', invariant: 'no-double-add', description: 'the private map path does not treat a present mirror leaf as spurious and issues a second PAGE.ADD/AUG (seed 000: what stops a second PAGE.ADD?)' },
  { name: 'spurious-returns-success', invariant: 'spurious-eio', description: 'INIT_MEM_REGION on an already-mapped GPA returns 0 instead of EIO' },
  { name: 'folio-wrappers', invariant: 'hugepage-folio-agnostic', description: 'AUG/WBINVD/RECLAIM wrappers take (folio, index, count) and refuse a range past one folio (seed 001)', profile: 'hugepage' },
  { name: 'null-source-as-target', invariant: 'null-source', description: 'source=0 is taken as the target page even without in-place conversion (seed 000)' },
  { name: 'host-maps-private', invariant: 'no-host-private-access', description: 'the guest_memfd host fault handler does not check that the page is shared (seed 002)' },
  { name: 'punch-frees-before-zap', invariant: 'no-dangling-sept', description: 'PUNCH_HOLE frees the folios before zapping the guest mappings of the range' },
  { name: 'mirror-leaf-kept', invariant: 'mirror-sept-agree', description: 'a private zap removes the S-EPT leaf but leaves the mirror SPTE in place' },
  { name: 'conversion-reuses-pfn', invariant: 'pfn-single-owner', description: 'a private fault reuses the translation of the neighbouring GFN instead of asking guest_memfd, so one PFN sits at two GPAs' },
  { name: 'conversion-skips-zap', invariant: 'attr-consistency', description: 'KVM_SET_MEMORY_ATTRIBUTES changes attributes without zapping the mappings of the range' },
  { name: 'prefault-before-finalize', invariant: 'td-lifecycle', description: 'KVM_PRE_FAULT_MEMORY is allowed before KVM_TDX_FINALIZE_VM, so PAGE.AUG runs in a TD that is not RUNNABLE' },
  { name: 'add-after-finalize', invariant: 'td-lifecycle', description: 'INIT_MEM_REGION is not refused once the TD is finalized' },
  { name: 'mrtd-rollback-on-remove', invariant: 'measurement', description: 'removing a measured page rolls its records back out of MRTD' },
  { name: 'remove-without-track', invariant: 'removal-order', description: 'the zap path skips TDH.MEM.TRACK in a RUNNABLE TD and forces the removal' },
  { name: 'gmem-slot-flags-mutable', invariant: 'gmem-bindings', description: 'a guest_memfd memslot can have its flags changed, leaving the binding pointing at the freed old slot (December 2025 use-after-free)' },
  { name: 'skip-zero-on-fault', invariant: 'zero-before-exposure', description: 'guest_memfd hands out a freshly allocated page without zeroing it' },
  { name: 'bugged-vm-keeps-answering', invariant: 'bugged-vm', description: 'a bugged VM keeps serving ioctls and issuing SEAMCALLs' },
  { name: 'attrs-set-before-validate', invariant: 'errno-contract', description: 'KVM_SET_MEMORY_ATTRIBUTES stores the attributes before checking alignment, so a failing call changes state' },
  { name: 'extend-skips-chunk', invariant: 'measurement', description: 'the MR.EXTEND loop of INIT_MEM_REGION stops one 256-byte chunk short, so each measured page gets 15 of its 16 extends' },
  { name: 'munmap-keeps-ptes', invariant: 'content-integrity', description: 'munmap frees the pages of an anonymous mapping but leaves its page-table entries, so later host accesses still reach the freed frames' },
  { name: 'teardown-frees-unreclaimed', invariant: 'frame-liveness', description: 'teardown frees a vCPU, S-EPT or TD control page whose TDH.PHYMEM.PAGE.RECLAIM failed, handing a frame the PAMT still assigns back to the host' },
  { name: 'munmap-keeps-last-spte', invariant: 'frame-liveness', description: 'the MMU notifier of munmap zaps one page short, so a shared SPTE keeps the last anonymous frame of the range after munmap freed it' },
  { name: 'remove-keeps-pamt', invariant: 'no-unexpected-bug', description: 'TDH.MEM.PAGE.REMOVE frees the S-EPT entry but leaves the page assigned in the PAMT, so the WBINVD that follows fails and bugs the VM' },
  { name: 'fallocate-allocates-past-eof', invariant: 'errno-contract', description: 'fallocate allocates the pages of the range inside the file before refusing a range that runs past it with EINVAL, so a failed call changes the page cache' },
  { name: 'wrap-throws', invariant: 'no-exception', description: 'KVM_PRE_FAULT_MEMORY converts gpa+size to a Number without a wrap check and asserts on it' },
] as const satisfies readonly BugSpec[];

export type BugName = (typeof BUGS)[number]['name'];

export function isBugName(s: string): s is BugName {
  return BUGS.some((b) => b.name === s);
}
