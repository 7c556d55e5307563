/*
 * tdxfuzz executor: the KVM_TDX_* commands through KVM_MEMORY_ENCRYPT_OP.
 * The caller includes <linux/kvm.h> and the tdxfuzz uAPI prelude first; the
 * capability and INIT_VM structures are defined here when the system header
 * predates TDX (TDXFUZZ_OWN_TDX_UAPI is set by the executor in that case).
 */
#ifndef TDXFUZZ_TDX_H
#define TDXFUZZ_TDX_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#ifdef TDXFUZZ_OWN_TDX_UAPI
struct kvm_tdx_capabilities {
	__u64 supported_attrs;
	__u64 supported_xfam;
	__u64 kernel_tdvmcallinfo_1_r11;
	__u64 user_tdvmcallinfo_1_r11;
	__u64 kernel_tdvmcallinfo_1_r12;
	__u64 user_tdvmcallinfo_1_r12;
	__u64 reserved[250];
	struct kvm_cpuid2 cpuid;
};
struct kvm_tdx_init_vm {
	__u64 attributes;
	__u64 xfam;
	__u64 mrconfigid[6];
	__u64 mrowner[6];
	__u64 mrownerconfig[6];
	__u64 reserved[12];
	struct kvm_cpuid2 cpuid;
};
#endif

#ifndef KVM_CAP_SPLIT_IRQCHIP
#define KVM_CAP_SPLIT_IRQCHIP 121
#endif
#define TDXFUZZ_TDX_CPUID_MAX 256
/* XFAM bits x87 and SSE: the ones every TD must have. */
#define TDXFUZZ_TDX_XFAM 0x3ull

/* A TD's VMM enables the split IRQCHIP before anything else (24 IOAPIC pins, as QEMU). */
static int tdxfuzz_tdx_enable_split_irqchip(int vm_fd)
{
	struct kvm_enable_cap cap;
	memset(&cap, 0, sizeof(cap));
	cap.cap = KVM_CAP_SPLIT_IRQCHIP;
	cap.args[0] = 24;
	return ioctl(vm_fd, KVM_ENABLE_CAP, &cap);
}

/* One KVM_MEMORY_ENCRYPT_OP; *hw_error gets what the kernel wrote back. */
static int tdxfuzz_tdx_op(int fd, uint32_t id, uint32_t flags, uint64_t data, uint64_t *hw_error)
{
	struct kvm_tdx_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.id = id;
	cmd.flags = flags;
	cmd.data = data;
	cmd.hw_error = *hw_error;
	int r = ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	int e = errno;
	*hw_error = cmd.hw_error;
	errno = e;
	return r;
}

/*
 * KVM_TDX_INIT_VM with the CPUID that KVM_TDX_CAPABILITIES offers, the TD's
 * GPA width (48 or 52 to be valid) in CPUID 0x80000008 EAX[23:16], where
 * KVM reads it and where the capabilities report the field as configurable.
 */
static int tdxfuzz_tdx_init_vm(int vm_fd, uint32_t flags, uint8_t gpaw, uint64_t *hw_error)
{
	size_t csz = sizeof(struct kvm_tdx_capabilities) + TDXFUZZ_TDX_CPUID_MAX * sizeof(struct kvm_cpuid_entry2);
	struct kvm_tdx_capabilities *caps = calloc(1, csz);
	if (!caps)
		return -1;
	caps->cpuid.nent = TDXFUZZ_TDX_CPUID_MAX;
	uint64_t hw = 0;
	if (tdxfuzz_tdx_op(vm_fd, KVM_TDX_CAPABILITIES, 0, (uint64_t)(uintptr_t)caps, &hw) < 0) {
		int e = errno;
		free(caps);
		errno = e;
		return -1;
	}
	unsigned n = caps->cpuid.nent;
	size_t isz = sizeof(struct kvm_tdx_init_vm) + n * sizeof(struct kvm_cpuid_entry2);
	struct kvm_tdx_init_vm *init = calloc(1, isz);
	if (!init) {
		free(caps);
		return -1;
	}
	init->attributes = 0;
	init->xfam = TDXFUZZ_TDX_XFAM & caps->supported_xfam;
	init->cpuid.nent = n;
	memcpy(init->cpuid.entries, caps->cpuid.entries, n * sizeof(struct kvm_cpuid_entry2));
	for (unsigned i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *c = &init->cpuid.entries[i];
		if (c->function == 0x80000008 && c->index == 0)
			c->eax = (c->eax & ~0x00ff0000u) | ((uint32_t)gpaw << 16);
	}
	int r = tdxfuzz_tdx_op(vm_fd, KVM_TDX_INIT_VM, flags, (uint64_t)(uintptr_t)init, hw_error);
	int e = errno;
	free(init);
	free(caps);
	errno = e;
	return r;
}

static int tdxfuzz_tdx_init_mem_region(int vcpu_fd, uint64_t source, uint64_t gpa, uint64_t nr_pages,
				       uint32_t flags, uint64_t *hw_error)
{
	struct kvm_tdx_init_mem_region region = { .source_addr = source, .gpa = gpa, .nr_pages = nr_pages };
	return tdxfuzz_tdx_op(vcpu_fd, KVM_TDX_INIT_MEM_REGION, flags, (uint64_t)(uintptr_t)&region, hw_error);
}

#endif
