// The uAPI values the model and the programs share: the bits of
// include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h and
// include/uapi/linux/falloc.h that a call's arguments are made of. The model
// reads them here, and so do the call table of the program format and the C
// export, so that a value is written once.

/** KVM_CREATE_VM machine types (asm/kvm.h: KVM_X86_DEFAULT_VM, _SW_PROTECTED_VM, _TDX_VM). */
export const VM_TYPES = { DEFAULT: 0n, SW_PROTECTED: 1n, TDX: 5n } as const;
/** KVM_MEMORY_ATTRIBUTE_PRIVATE is bit 3. */
export const ATTR_FLAGS = { PRIVATE: 1n << 3n } as const;
/**
 * GUEST_MEMFD_FLAG_MMAP and _INIT_SHARED are the kernel's bits 0 and 1. The
 * HugeTLB flags are a proposal ([1G-rfc]) with no settled uAPI; the model gives
 * them bits 3 and 4 (bit 2 is taken by the proposed NO_DIRECT_MAP).
 */
export const GMEM_FLAGS = {
  MMAP: 1n << 0n,
  INIT_SHARED: 1n << 1n,
  HUGETLB_2M: 1n << 3n,
  HUGETLB_1G: 1n << 4n,
} as const;
/** KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY and KVM_MEM_GUEST_MEMFD. */
export const MEMSLOT_FLAGS = { LOG_DIRTY_PAGES: 1n << 0n, READONLY: 1n << 1n, GUEST_MEMFD: 1n << 2n } as const;
/** FALLOC_FL_* values from include/uapi/linux/falloc.h. */
export const FALLOC_FLAGS = { KEEP_SIZE: 0x01n, PUNCH_HOLE: 0x02n, ZERO_RANGE: 0x10n } as const;
/** KVM_TDX_MEASURE_MEMORY_REGION, the one flag of KVM_TDX_INIT_MEM_REGION. */
export const INIT_MEM_FLAGS = { MEASURE: 1n << 0n } as const;
