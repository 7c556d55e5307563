/*
 * tdxfuzz executor: runs resolved program calls on /dev/kvm.
 *
 * Protocol (one line each way, see src/kernel/protocol.ts):
 *   in:  OP [h:N]... [key=VALUE]...     VALUE = integer | @MAP+OFFSET
 *        PROBE | RESET | QUIT
 *   out: R RESULT          an integer, an errno name, OK, SIGBUS, EXIT_*, X:<exit>
 *        R OK N            a call that created handle N
 *        U REASON          this executor cannot run the call here
 *        P KEY VALUE       probe facts, before PROBE's R line
 * Handles are indices into the executor's own table, so a closed handle is
 * never confused with a reused fd. Built by the tdxfuzz driver with
 * -include of the uAPI prelude.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/kvm.h>
#ifndef KVM_TDX_MEASURE_MEMORY_REGION
#define TDXFUZZ_OWN_TDX_UAPI 1
#endif
#include "tdxfuzz_uapi.h"
#include "guest.h"
#include "tdx.h"
#include "ops.h"

static int kvm_fd = -1;
static int kvm_errno;

struct obj objs[MAX_OBJS];
int nobjs = 1;
struct pin pins[MAX_PINS];
int npins;

/* Errno names the program format knows, plus a few more the kernel may give. */
static const struct { int e; const char *n; } ERRNOS[] = {
	{ EINVAL, "EINVAL" }, { EIO, "EIO" }, { EEXIST, "EEXIST" }, { EBADF, "EBADF" },
	{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { ENOENT, "ENOENT" }, { ENOTTY, "ENOTTY" },
	{ EOPNOTSUPP, "EOPNOTSUPP" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { E2BIG, "E2BIG" },
	{ EPERM, "EPERM" }, { EINTR, "EINTR" }, { EHWPOISON, "EHWPOISON" }, { ENODEV, "ENODEV" },
	{ EOVERFLOW, "EOVERFLOW" }, { ENOSPC, "ENOSPC" }, { EACCES, "EACCES" }, { ENOSYS, "ENOSYS" },
	{ ERANGE, "ERANGE" }, { ESPIPE, "ESPIPE" }, { ENXIO, "ENXIO" }, { EFBIG, "EFBIG" },
};

const char *errno_name(int e)
{
	static char buf[16];
	for (size_t i = 0; i < sizeof(ERRNOS) / sizeof(ERRNOS[0]); i++)
		if (ERRNOS[i].e == e)
			return ERRNOS[i].n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

int kvm(void) { return kvm_fd; }
int kvm_open_errno(void) { return kvm_errno; }

struct obj *obj_get(int64_t h, int kind)
{
	if (h <= 0 || h >= nobjs || objs[h].kind != kind)
		return NULL;
	return &objs[h];
}

int obj_fd(int64_t h, int kind)
{
	struct obj *o = obj_get(h, kind);
	return o ? o->fd : -1;
}

int obj_new(int kind)
{
	if (nobjs >= MAX_OBJS)
		return -1;
	memset(&objs[nobjs], 0, sizeof(objs[nobjs]));
	objs[nobjs].kind = kind;
	objs[nobjs].fd = -1;
	objs[nobjs].vm = -1;
	return nobjs++;
}

void obj_release(struct obj *o)
{
	if (o->kind == K_VCPU && o->run)
		munmap(o->run, o->runsz);
	if (o->kind == K_VM)
		tdxfuzz_guest_vm_free(&o->g);
	if (o->kind == K_MAP && o->addr && !o->unmapped)
		munmap(o->addr, o->len);
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->run = NULL;
	o->unmapped = 1;
}

/* Close everything of the last program: pins first, then vCPUs, memory, files, VMs. */
static void reset(void)
{
	for (int i = 0; i < npins; i++)
		pin_release(&pins[i]);
	npins = 0;
	static const int order[] = { K_VCPU, K_MAP, K_GMEM, K_VM };
	for (int k = 0; k < 4; k++)
		for (int i = 1; i < nobjs; i++)
			if (objs[i].kind == order[k])
				obj_release(&objs[i]);
	nobjs = 1;
	names_reset();
}

static void probe_vm_type(uint64_t type)
{
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, type);
	if (vm < 0) {
		printf("P vm.%" PRIu64 " %s\n", type, errno_name(errno));
		return;
	}
	printf("P vm.%" PRIu64 " OK\n", type);
	printf("P vm.%" PRIu64 ".guest_memfd_flags %d\n", type, ioctl(vm, KVM_CHECK_EXTENSION, 244));
	printf("P vm.%" PRIu64 ".memory_attributes %d\n", type, ioctl(vm, KVM_CHECK_EXTENSION, 233));
	printf("P vm.%" PRIu64 ".pre_fault_memory %d\n", type, ioctl(vm, KVM_CHECK_EXTENSION, 236));
	/* A zero-sized request tells "not built in" (ENOTTY) from "built in" (EINVAL). */
	struct kvm_memory_attributes a = { 0 };
	ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a);
	printf("P vm.%" PRIu64 ".set_memory_attributes %s\n", type, errno_name(errno));
	struct kvm_create_guest_memfd cg = { .size = 0x1000, .flags = 0 };
	int gm = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &cg);
	if (gm >= 0) {
		struct kvm_memory_attributes2 a2;
		memset(&a2, 0, sizeof(a2));
		ioctl(gm, KVM_SET_MEMORY_ATTRIBUTES2, &a2);
		printf("P vm.%" PRIu64 ".set_memory_attributes2 %s\n", type, errno_name(errno));
		close(gm);
	} else {
		printf("P vm.%" PRIu64 ".create_guest_memfd %s\n", type, errno_name(errno));
	}
	if (type != KVM_X86_TDX_VM) {
		int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		if (cpu >= 0) {
			struct kvm_pre_fault_memory pf = { .gpa = 0, .size = 0x1000 };
			int r = ioctl(cpu, KVM_PRE_FAULT_MEMORY, &pf);
			printf("P vm.%" PRIu64 ".pre_fault %s\n", type, r < 0 ? errno_name(errno) : "0");
			close(cpu);
		}
		struct tdxfuzz_guest_vm g;
		if (tdxfuzz_guest_vm_setup(kvm_fd, vm, &g) == 0) {
			printf("P vm.%" PRIu64 ".guest reserved slot=%u gpa=0x%" PRIx64 " size=0x%" PRIx64 " bits=%u\n",
			       type, TDXFUZZ_RESERVED_SLOT, g.gpa, g.size, g.bits);
			tdxfuzz_guest_vm_free(&g);
		} else {
			printf("P vm.%" PRIu64 ".guest unsupported %s: %s\n", type, g.why, errno_name(g.err));
		}
	}
	close(vm);
}

static void probe(void)
{
	struct utsname u;
	if (uname(&u) == 0)
		printf("P release %s\n", u.release);
	if (kvm_fd < 0) {
		printf("P kvm %s\n", errno_name(kvm_errno));
		return;
	}
	printf("P kvm OK\n");
	printf("P api %d\n", ioctl(kvm_fd, KVM_GET_API_VERSION, 0));
	static const struct { int n; const char *name; } caps[] = {
		{ 231, "user_memory2" }, { 233, "memory_attributes" }, { 234, "guest_memfd" },
		{ 235, "vm_types" }, { 236, "pre_fault_memory" }, { 244, "guest_memfd_flags" },
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("P cap.%s %d\n", caps[i].name, ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].n));
	static const uint64_t types[] = { 0, 1, 2, 3, 4, 5 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		probe_vm_type(types[i]);
}

static void on_fault(int sig, siginfo_t *si, void *uc);

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
	kvm_errno = kvm_fd < 0 ? errno : 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_DFL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("HELLO tdxfuzz-executor 1 kvm=%s\n", kvm_fd < 0 ? errno_name(kvm_errno) : "OK");
	static char line[8192];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!strcmp(line, "QUIT"))
			break;
		if (!strcmp(line, "RESET")) {
			reset();
			printf("R 0\n");
		} else if (!strcmp(line, "PROBE")) {
			probe();
			printf("R 0\n");
		} else {
			char out[256];
			run_line(line, out, sizeof(out));
			printf("%s\n", out);
		}
		fflush(stdout);
	}
	reset();
	return 0;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si; (void)uc;
	host_fault(sig);
}
