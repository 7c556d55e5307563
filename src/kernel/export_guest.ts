// The executor's guest-access code for exported reproducers: the text of
// executor/guest.h, a small per-VM table around it, and the statements a
// C export emits for KVM_CREATE_VM and GUEST_ACCESS, so an exported program
// performs the same accesses the executor does.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Call, Program } from '../program/types.js';
import { VM_TYPES } from '../program/calls.js';
import { EXECUTOR_DIR } from './build.js';

export function guestHelpers(): string {
  return `${readFileSync(join(EXECUTOR_DIR, 'guest.h'), 'utf8')}
#define GUEST_EXIT_MEMORY_FAULT (-100002L)
#define GUEST_EXIT_MMIO (-100003L)
#define GUEST_MAX_VMS 64
static struct { int fd; struct tdxfuzz_guest_vm g; } guest_vms[GUEST_MAX_VMS];
static int guest_nvms;
static struct { int fd; struct kvm_run *run; } guest_vcpus[GUEST_MAX_VMS];
static int guest_nvcpus;

/* The executor's reserved slot, made right after KVM_CREATE_VM of a non-TD VM. */
static void guest_vm_created(int kvm, int vm)
{
	if (vm < 0 || guest_nvms == GUEST_MAX_VMS)
		return;
	guest_vms[guest_nvms].fd = vm;
	if (tdxfuzz_guest_vm_setup(kvm, vm, &guest_vms[guest_nvms].g) < 0)
		fprintf(stderr, "guest accesses unavailable: %s: %s\\n", guest_vms[guest_nvms].g.why, strerror(guest_vms[guest_nvms].g.err));
	guest_nvms++;
}

/* One GUEST_ACCESS: the byte read, 0 for a store, GUEST_EXIT_* or -errno. */
static long guest_access(int kvm, int vm, int vcpu, __u64 gpa, int write, uint8_t byte)
{
	struct tdxfuzz_guest_vm *g = NULL;
	struct kvm_run *run = NULL;
	uint64_t v;
	for (int i = 0; i < guest_nvms; i++)
		if (guest_vms[i].fd == vm && guest_vms[i].g.mem)
			g = &guest_vms[i].g;
	if (!g)
		return SKIPPED;
	for (int i = 0; i < guest_nvcpus; i++)
		if (guest_vcpus[i].fd == vcpu)
			run = guest_vcpus[i].run;
	if (!run) {
		int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
		void *p = sz > 0 ? mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0) : MAP_FAILED;
		if (p == MAP_FAILED || guest_nvcpus == GUEST_MAX_VMS || tdxfuzz_guest_vcpu_setup(kvm, vcpu) < 0)
			return -errno;
		run = p;
		guest_vcpus[guest_nvcpus].fd = vcpu;
		guest_vcpus[guest_nvcpus++].run = run;
	}
	switch (tdxfuzz_guest_access(vcpu, run, g, gpa, write, byte, &v)) {
	case TDXFUZZ_ACCESS_BYTE: return (long)v;
	case TDXFUZZ_ACCESS_OK: return 0;
	case TDXFUZZ_ACCESS_MEMFAULT: return GUEST_EXIT_MEMORY_FAULT;
	case TDXFUZZ_ACCESS_MMIO: return GUEST_EXIT_MMIO;
	case TDXFUZZ_ACCESS_ERRNO: return -(long)v;
	default: return SKIPPED;
	}
}
`;
}

/** Extra lines after a KVM_CREATE_VM statement. */
export function afterCreateVm(c: Call): string[] {
  const t = c.args.type;
  if (t?.kind === 'int' && t.value === VM_TYPES.TDX) return [];
  return [`guest_vm_created(kvm, ${c.bind});`];
}

/** The statement of a GUEST_ACCESS: the guest of executor/guest.h does the access. */
export function guestAccessStatement(c: Call, p: Program): string[] {
  const creator = p.calls.find((d) => d.bind === c.handles[0]);
  const vm = creator?.handles[0];
  const int = (k: string) => {
    const v = c.args[k];
    return v?.kind === 'int' ? `0x${v.value.toString(16)}ULL` : '0';
  };
  if (!vm) return ['r = SKIPPED;'];
  const onTd = p.calls.some((d) => d.bind === vm && d.args.type?.kind === 'int' && d.args.type.value === VM_TYPES.TDX);
  if (onTd) return ['/* GUEST_ACCESS on a TD needs a TD boot image, which tdxfuzz lacks. */', 'r = SKIPPED;'];
  return [`r = guest_access(kvm, ${vm}, ${c.handles[0]}, ${int('gpa')}, (int)${int('write')}, (uint8_t)${int('byte')});`];
}
