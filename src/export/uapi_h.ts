// The uAPI a reproducer needs beyond an older <linux/kvm.h>: guest_memfd,
// memslots v2, memory attributes (v1 and the in-place v2), pre-fault and the
// TDX commands, each under a guard so a newer header wins. The values are the
// model's (src/model/abi.ts), so the C and the model cannot disagree.

import { ATTR_FLAGS, GMEM_FLAGS, INIT_MEM_FLAGS, MEMSLOT_FLAGS, VM_TYPES } from '../model/abi.js';

/** A one-bit flag as C writes it: `(1ULL << n)`. */
function bit(v: bigint, suffix: 'UL' | 'ULL'): string {
  const n = v.toString(2).length - 1;
  if (v !== 1n << BigInt(n)) throw new Error(`not a single bit: ${v}`);
  return `(1${suffix} << ${n})`;
}

export const UAPI_PRELUDE = String.raw`#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM ${VM_TYPES.SW_PROTECTED}
#endif
#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM ${VM_TYPES.TDX}
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD ${bit(MEMSLOT_FLAGS.GUEST_MEMFD, 'UL')}
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE ${bit(ATTR_FLAGS.PRIVATE, 'ULL')}
#endif
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP ${bit(GMEM_FLAGS.MMAP, 'ULL')}
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED ${bit(GMEM_FLAGS.INIT_SHARED, 'ULL')}
#endif
/* The HugeTLB flags are a proposal; these bits are tdxfuzz's. */
#ifndef GUEST_MEMFD_FLAG_HUGETLB_2M
#define GUEST_MEMFD_FLAG_HUGETLB_2M ${bit(GMEM_FLAGS.HUGETLB_2M, 'ULL')}
#endif
#ifndef GUEST_MEMFD_FLAG_HUGETLB_1G
#define GUEST_MEMFD_FLAG_HUGETLB_1G ${bit(GMEM_FLAGS.HUGETLB_1G, 'ULL')}
#endif
#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif
#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif
#ifndef KVM_SET_MEMORY_ATTRIBUTES2
struct kvm_memory_attributes2 {
	union {
		__u64 address;
		__u64 offset;
	};
	__u64 size;
	__u64 attributes;
	__u64 flags;
	__u64 error_offset;
	__u64 reserved[11];
};
#define KVM_SET_MEMORY_ATTRIBUTES2 _IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2)
#endif
#ifndef KVM_PRE_FAULT_MEMORY
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif
#ifndef KVM_MEMORY_ENCRYPT_OP
#define KVM_MEMORY_ENCRYPT_OP _IOWR(KVMIO, 0xba, unsigned long)
#endif
#ifndef KVM_TDX_MEASURE_MEMORY_REGION
enum tdxfuzz_kvm_tdx_cmd_id {
	KVM_TDX_CAPABILITIES = 0,
	KVM_TDX_INIT_VM,
	KVM_TDX_INIT_VCPU,
	KVM_TDX_INIT_MEM_REGION,
	KVM_TDX_FINALIZE_VM,
	KVM_TDX_GET_CPUID,
};
struct kvm_tdx_cmd {
	__u32 id;
	__u32 flags;
	__u64 data;
	__u64 hw_error;
};
struct kvm_tdx_init_mem_region {
	__u64 source_addr;
	__u64 gpa;
	__u64 nr_pages;
};
#define KVM_TDX_MEASURE_MEMORY_REGION ${bit(INIT_MEM_FLAGS.MEASURE, 'UL')}
#endif
`;
