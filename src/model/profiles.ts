// Named designs of the private-memory path (program-format.md "Profiles") and
// the catalogue of seeded bugs. A profile is a set of named settings; every
// place in the model that differs between designs reads one of them, so
// `tdxfuzz profiles` shows exactly what a profile changes.

export interface ProfileSettings {
  /** Kernel generation of the TDX code (tdx.md §0): G1 pre-maps the mirror leaf (nr_premapped) and ADDs outside mmu_lock. */
  generation: 'G1' | 'G3';
  /** guest_memfd in-place conversion ([v8]): KVM_SET_MEMORY_ATTRIBUTES2 on, per-VM PRIVATE off. */
  inPlaceConversion: boolean;
  /** What INIT_MEM_REGION does with source=0: reject (EINVAL), use the target page when in-place conversion is on, always use the target page, or GUP address 0 like any other (G1: EFAULT). */
  nullSource: 'reject' | 'in-place' | 'target' | 'gup';
  /** Where INIT_MEM_REGION GUPs the source: in kvm_gmem_populate() before guest_memfd's checks (G3), or in the TDX hook after them (G1). */
  sourceGup: 'before-gmem' | 'in-hook';
  /** guest_memfd refuses to populate a page it already prepared, with EEXIST, before any TDX code (G1). */
  populateRefusesPrepared: boolean;
  /** A failed TDH.MR.EXTEND bugs the VM (G3, TDX_BUG_ON); otherwise the call fails with EIO and the VM lives on (G1). */
  mrExtendErrorBugs: boolean;
  /** HugeTLB-backed guest_memfd (HUGETLB_2M / HUGETLB_1G creation flags) ([1G-rfc]). */
  hugetlb: boolean;
  /** 2 MiB private mappings through PAGE.AUG after finalize (tdx.md §6.1). */
  hugeMappings: boolean;
  /** AUG, WBINVD and RECLAIM wrappers take (folio, index, count) and refuse ranges past one folio (tdx.md §6.2). */
  folioWrappers: boolean;
  /** What a real kernel lacks, as probed by the KVM executor (src/kernel); absent: everything is there. */
  kernel?: KernelGates;
}

/** The capabilities of one running kernel, so the model answers as that configuration does. */
export interface KernelGates {
  /** VM types KVM_CREATE_VM accepts; any other is EINVAL (kvm_arch_init_vm()). */
  vmTypes: Array<'DEFAULT' | 'SW_PROTECTED' | 'TDX'>;
  /** false: KVM_SET_MEMORY_ATTRIBUTES is not built in (ENOTTY). */
  memoryAttributes: boolean;
  /** false: KVM_PRE_FAULT_MEMORY answers EOPNOTSUPP after its argument checks (no TDP MMU). */
  preFault: boolean;
  /** The executor's own memslot in every non-TD VM: its id is taken and its GPA range overlaps (EEXIST). */
  reservedSlot: { slot: number; gpa: bigint; size: bigint } | null;
  /** The executor's guest forms GPAs below 2^guestBits only; GUEST_ACCESS beyond is EINVAL, as past GPA_LIMIT. */
  guestBits: number | null;
}

export interface Profile {
  name: ProfileName;
  description: string;
  settings: ProfileSettings;
  /** A sound profile must pass every invariant; the others model a flawed design on purpose. */
  sound: boolean;
}

export const PROFILE_NAMES = ['upstream', 'g1', 'inplace', 'hugepage', 'hugepage-folio', 'null-source-target', 'kernel'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const G3: ProfileSettings = {
  generation: 'G3', inPlaceConversion: false, nullSource: 'reject',
  sourceGup: 'before-gmem', populateRefusesPrepared: false, mrExtendErrorBugs: true,
  hugetlb: false, hugeMappings: false, folioWrappers: false,
};
/** The G1 deltas of tdx.md §2.3. */
const G1: ProfileSettings = {
  ...G3, generation: 'G1', nullSource: 'gup', sourceGup: 'in-hook', populateRefusesPrepared: true, mrExtendErrorBugs: false,
};
const INPLACE: ProfileSettings = { ...G3, inPlaceConversion: true, nullSource: 'in-place' };
const HUGE: ProfileSettings = { ...INPLACE, hugetlb: true, hugeMappings: true };

/** The kernel measured on the project's machines (Linux 6.18): replaced by `setKernelGates()` after a probe. */
export const KERNEL_DEFAULT_GATES: KernelGates = {
  vmTypes: ['DEFAULT'], memoryAttributes: false, preFault: false,
  reservedSlot: { slot: 32763, gpa: 1n << 46n, size: 0x205000n }, guestBits: 48,
};

export const PROFILES: Record<ProfileName, Profile> = {
  upstream: {
    name: 'upstream', sound: true, settings: G3,
    description: 'current KVM (G3): per-VM attributes, 4 KiB private mappings, PFN-based SEAMCALL wrappers, NULL source rejected with EINVAL, re-adding a mapped GPA gives EIO',
  },
  g1: {
    name: 'g1', sound: true, settings: G1,
    description: 'first upstream TDX generation: INIT_MEM_REGION pre-maps (nr_premapped), guest_memfd answers EEXIST to a second populate before the source is GUPed, source=0 is GUPed (EFAULT), an MR.EXTEND error is EIO without bugging the VM, FINALIZE refused while pre-mapped pages remain',
  },
  inplace: {
    name: 'inplace', sound: true, settings: INPLACE,
    description: 'guest_memfd in-place conversion (KVM_SET_MEMORY_ATTRIBUTES2); source=0 adds the target page in place, measuring what userspace wrote through its shared mapping',
  },
  hugepage: {
    name: 'hugepage', sound: true, settings: HUGE,
    description: 'inplace plus HugeTLB guest_memfd (folios split to 4 KiB on conversion, merged back when all private) and 2 MiB private mappings after finalize when aligned, contiguous and uniformly private',
  },
  'hugepage-folio': {
    name: 'hugepage-folio', sound: false, settings: { ...HUGE, folioWrappers: true },
    description: 'hugepage with SEAMCALL wrappers that take a folio and refuse a range that is not inside one folio: the flawed 2025 design the PFN-only wrappers replaced',
  },
  'null-source-target': {
    name: 'null-source-target', sound: false, settings: { ...G3, nullSource: 'target' },
    description: 'upstream, but a NULL source always means "the target page", even without in-place conversion',
  },
  kernel: {
    name: 'kernel', sound: false, settings: { ...G3, kernel: KERNEL_DEFAULT_GATES },
    description: 'upstream, limited to what the running kernel offers (probed by the KVM executor: VM types, memory attributes, pre-fault, the executor\'s reserved memslot); the model side of `--target kernel`',
  },
};

/** Make the `kernel` profile answer as the probed kernel does (src/kernel/profile.ts). */
export function setKernelGates(gates: KernelGates, inPlaceConversion: boolean): void {
  PROFILES.kernel.settings = { ...PROFILES.kernel.settings, inPlaceConversion, nullSource: inPlaceConversion ? 'in-place' : 'reject', kernel: gates };
}

export function isProfileName(s: string): s is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(s);
}

export const SOUND_PROFILES = PROFILE_NAMES.filter((n) => PROFILES[n].sound);

/** The sound design a flawed one departs from: where its findings must pass. */
export function soundCounterpart(p: ProfileName): ProfileName {
  if (p === 'hugepage-folio') return 'hugepage';
  if (p === 'null-source-target') return 'upstream';
  return p;
}
