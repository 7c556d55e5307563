/*
 * tdxfuzz guest access: one load or store by a minimal guest at any GPA.
 *
 * Shared by the executor and by exported C reproducers. The caller includes
 * <linux/kvm.h> and the tdxfuzz uAPI prelude first.
 *
 * A VM that may run guest accesses gets a reserved memslot of anonymous
 * memory at a quarter of the guest-physical space: a PML4 identity-mapping
 * every GPA the guest can form (below min(MAXPHYADDR, 48 bits)) with 1 GiB
 * pages, a code page, a GDT, an IDT whose every vector reports itself on port
 * 0x12, and a stack. Each access is one KVM_RUN in 64-bit mode:
 * `mov al,[rbx]; out 0x10,al; hlt` for a load, `mov [rbx],cl; out 0x11,al;
 * hlt` for a store, `tdcall; out 0x13,al; hlt` for an accept. The result
 * comes back through the I/O exit; a fault comes back as
 * KVM_EXIT_MEMORY_FAULT, an MMIO exit, a guest exception or an errno.
 *
 * Layout: +0 PML4, +0x1000 code, +0x2000 GDT, +0x3000 IDT, +0x4000 stack,
 * +0x5000 PDPTs.
 */
#ifndef TDXFUZZ_GUEST_H
#define TDXFUZZ_GUEST_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>

/* The last slot id KVM accepts on x86 (KVM_USER_MEM_SLOTS - 1). */
#define TDXFUZZ_RESERVED_SLOT 32763u
#define TDXFUZZ_PORT_READ 0x10
#define TDXFUZZ_PORT_WRITE 0x11
#define TDXFUZZ_PORT_EXCEPTION 0x12
#define TDXFUZZ_PORT_TDCALL 0x13
#define TDXFUZZ_MAX_RUNS 4
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif

enum tdxfuzz_access {
	TDXFUZZ_ACCESS_BYTE,       /* a load completed: value holds the byte */
	TDXFUZZ_ACCESS_OK,         /* a store completed */
	TDXFUZZ_ACCESS_MEMFAULT,   /* KVM_RUN: -EFAULT with KVM_EXIT_MEMORY_FAULT */
	TDXFUZZ_ACCESS_MMIO,       /* no memslot: KVM_EXIT_MMIO */
	TDXFUZZ_ACCESS_ERRNO,      /* KVM_RUN or setup failed: value holds errno */
	TDXFUZZ_ACCESS_EXIT,       /* another exit: value holds the exit reason */
	TDXFUZZ_ACCESS_EXCEPTION,  /* the guest took an exception: value holds the vector */
	TDXFUZZ_ACCESS_BEYOND,     /* the guest cannot form this GPA (at or above 2^bits) */
};

struct tdxfuzz_guest_vm {
	void *mem;          /* the reserved slot's memory */
	uint64_t gpa;       /* TDXFUZZ_RESERVED_GPA for this guest's MAXPHYADDR */
	uint64_t size;
	unsigned bits;      /* GPAs below 2^bits are reachable */
	int err;            /* errno of a failed setup, 0 when ready */
	const char *why;    /* what failed */
};

/* The guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]); 36 when absent. */
static unsigned tdxfuzz_phys_bits(const struct kvm_cpuid2 *c)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000008)
			return c->entries[i].eax & 0xff;
	return 36;
}

static int tdxfuzz_has_1g_pages(const struct kvm_cpuid2 *c)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000001)
			return (c->entries[i].edx >> 26) & 1;
	return 0;
}

/* KVM_GET_SUPPORTED_CPUID once per process; it is what every vCPU is given. */
static struct kvm_cpuid2 *tdxfuzz_cpuid(int kvm_fd)
{
	static struct kvm_cpuid2 *c;
	if (c)
		return c;
	int n = 256;
	c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return NULL;
	c->nent = n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		c = NULL;
	}
	return c;
}

/* Reserved GPA: a quarter of the reachable guest physical space, far above what programs use. */
static uint64_t tdxfuzz_reserved_gpa(unsigned bits)
{
	return 1ull << (bits - 2);
}

/* 4-level paging: a canonical address for a GPA below 2^48 (bit 47 sign-extended). */
static uint64_t tdxfuzz_canonical(uint64_t gpa)
{
	return (gpa & (1ull << 47)) ? gpa | 0xffff000000000000ull : gpa;
}

/* Number of PDPT pages that map [0, 2^phys_bits) with 1 GiB pages (at most 512). */
static unsigned tdxfuzz_pdpts(unsigned phys_bits)
{
	return phys_bits <= 39 ? 1 : phys_bits >= 48 ? 512 : 1u << (phys_bits - 39);
}

/* Build the reserved slot (layout above). */
static int tdxfuzz_guest_vm_setup(int kvm_fd, int vm_fd, struct tdxfuzz_guest_vm *g)
{
	memset(g, 0, sizeof(*g));
	struct kvm_cpuid2 *c = tdxfuzz_cpuid(kvm_fd);
	if (!c) { g->err = errno; g->why = "KVM_GET_SUPPORTED_CPUID"; return -1; }
	if (!tdxfuzz_has_1g_pages(c)) { g->err = EOPNOTSUPP; g->why = "no 1 GiB pages in the guest CPUID"; return -1; }
	unsigned bits = tdxfuzz_phys_bits(c);
	if (bits > 52 || bits < 33) { g->err = EOPNOTSUPP; g->why = "guest MAXPHYADDR out of range"; return -1; }
	if (bits > 48)
		bits = 48;
	unsigned n = tdxfuzz_pdpts(bits);
	g->bits = bits;
	g->gpa = tdxfuzz_reserved_gpa(bits);
	g->size = 0x5000 + (uint64_t)n * 0x1000;
	g->mem = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED) { g->mem = NULL; g->err = errno; g->why = "mmap of the reserved slot"; return -1; }
	uint64_t *pml4 = g->mem;
	for (unsigned i = 0; i < n; i++) {
		uint64_t *pdpt = (uint64_t *)((char *)g->mem + 0x5000 + i * 0x1000);
		pml4[i] = (g->gpa + 0x5000 + i * 0x1000) | 0x3;            /* present, writable */
		for (unsigned j = 0; j < 512; j++) {
			uint64_t pa = ((uint64_t)i * 512 + j) << 30;
			if (pa >> bits)
				break;
			pdpt[j] = pa | 0x83;                                  /* present, writable, 1 GiB */
		}
	}
	static const unsigned char code[] = {
		0x8a, 0x03, 0xe6, TDXFUZZ_PORT_READ, 0xf4,                   /* +0:  mov al,[rbx]; out; hlt */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
		0x88, 0x0b, 0xe6, TDXFUZZ_PORT_WRITE, 0xf4,                  /* +16: mov [rbx],cl; out; hlt */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
		0x66, 0x0f, 0x01, 0xcc, 0xe6, TDXFUZZ_PORT_TDCALL, 0xf4,    /* +32: tdcall; out; hlt */
	};
	unsigned char *text = (unsigned char *)g->mem + 0x1000;
	memcpy(text, code, sizeof(code));
	/* +0x100 + 8v: mov al,v; out 0x12,al; hlt (the handler of vector v). */
	uint64_t *idt = (uint64_t *)((char *)g->mem + 0x3000);
	for (unsigned v = 0; v < 256; v++) {
		unsigned char stub[8] = { 0xb0, (unsigned char)v, 0xe6, TDXFUZZ_PORT_EXCEPTION, 0xf4, 0x90, 0x90, 0x90 };
		memcpy(text + 0x100 + 8 * v, stub, 8);
		uint64_t h = g->gpa + 0x1000 + 0x100 + 8 * v;
		/* 64-bit interrupt gate, present, DPL 0, selector 8. */
		idt[2 * v] = (h & 0xffff) | (0x8ull << 16) | (0x8eull << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
	uint64_t *gdt = (uint64_t *)((char *)g->mem + 0x2000);
	gdt[1] = 0x00af9b000000ffffull;                               /* 64-bit code */
	gdt[2] = 0x00cf93000000ffffull;                               /* data */
	struct kvm_userspace_memory_region r = {
		.slot = TDXFUZZ_RESERVED_SLOT, .flags = 0, .guest_phys_addr = g->gpa,
		.memory_size = g->size, .userspace_addr = (uint64_t)(uintptr_t)g->mem,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		g->err = errno; g->why = "KVM_SET_USER_MEMORY_REGION of the reserved slot";
		munmap(g->mem, g->size); g->mem = NULL;
		return -1;
	}
	return 0;
}

static void tdxfuzz_guest_vm_free(struct tdxfuzz_guest_vm *g)
{
	if (g->mem)
		munmap(g->mem, g->size);
	g->mem = NULL;
}

/* First access on a vCPU: give it the host's supported CPUID (1 GiB pages, MAXPHYADDR). */
static int tdxfuzz_guest_vcpu_setup(int kvm_fd, int vcpu_fd)
{
	struct kvm_cpuid2 *c = tdxfuzz_cpuid(kvm_fd);
	if (!c)
		return -1;
	return ioctl(vcpu_fd, KVM_SET_CPUID2, c);
}

static void tdxfuzz_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0; s->limit = 0xffffffff; s->selector = sel; s->type = type;
	s->present = 1; s->s = 1; s->g = 1; s->l = code; s->db = !code;
}

/* Put the vCPU in 64-bit mode at the access routine, with rbx = gpa, cl = byte. */
enum tdxfuzz_op { TDXFUZZ_OP_READ, TDXFUZZ_OP_WRITE, TDXFUZZ_OP_TDCALL };

static int tdxfuzz_guest_regs(int vcpu_fd, const struct tdxfuzz_guest_vm *g, uint64_t gpa, enum tdxfuzz_op op, uint8_t byte)
{
	struct kvm_sregs s;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	tdxfuzz_seg(&s.cs, 0x8, 11, 1);
	tdxfuzz_seg(&s.ds, 0x10, 3, 0);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = 0x18; s.tr.limit = 0x67; s.tr.type = 11; s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	s.cr0 = 0x80050033ull;         /* PG, WP, NE, ET, MP, PE */
	s.cr4 = 0x20;                  /* PAE */
	s.efer = 0x500;                /* LMA, LME */
	s.cr3 = g->gpa;
	s.gdt.base = g->gpa + 0x2000;
	s.gdt.limit = 0xfff;
	s.idt.base = g->gpa + 0x3000;
	s.idt.limit = 0xfff;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return -1;
	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rip = g->gpa + 0x1000 + 16 * op;
	r.rbx = tdxfuzz_canonical(gpa);
	r.rcx = byte;
	r.rsp = g->gpa + 0x5000;
	r.rflags = 2;
	return ioctl(vcpu_fd, KVM_SET_REGS, &r);
}

static void tdxfuzz_alarm(int sig) { (void)sig; }

/* One KVM_RUN, bounded by a one-shot timer so a stuck guest returns EINTR. */
static int tdxfuzz_run_once(int vcpu_fd, unsigned timeout_ms)
{
	static int installed;
	if (!installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = tdxfuzz_alarm;
		sigaction(SIGALRM, &sa, NULL);
		installed = 1;
	}
	struct itimerval t = { { 0, 0 }, { timeout_ms / 1000, (timeout_ms % 1000) * 1000 } };
	setitimer(ITIMER_REAL, &t, NULL);
	int r = ioctl(vcpu_fd, KVM_RUN, 0);
	int e = errno;
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	errno = e;
	return r;
}

/* Let the guest reach its hlt so no exit is left pending for the next access. */
static void tdxfuzz_drain(int vcpu_fd, struct kvm_run *run)
{
	for (int i = 0; i < TDXFUZZ_MAX_RUNS; i++) {
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		if (tdxfuzz_run_once(vcpu_fd, 1000) < 0 || run->exit_reason == KVM_EXIT_HLT ||
		    run->exit_reason == KVM_EXIT_SHUTDOWN)
			return;
	}
}

/*
 * Run one guest operation: a load or store at `gpa`, or a TDCALL (rcx = gpa
 * for an accept). Returns the kind of answer; *value gets the byte, errno,
 * exit reason or exception vector.
 */
static enum tdxfuzz_access tdxfuzz_guest_run(int vcpu_fd, struct kvm_run *run, const struct tdxfuzz_guest_vm *g,
					     enum tdxfuzz_op op, uint64_t gpa, uint8_t byte, uint64_t *value)
{
	*value = 0;
	if (op != TDXFUZZ_OP_TDCALL && (gpa >> g->bits) != 0)
		return TDXFUZZ_ACCESS_BEYOND;
	if (tdxfuzz_guest_regs(vcpu_fd, g, gpa, op, byte) < 0) {
		*value = errno;
		return TDXFUZZ_ACCESS_ERRNO;
	}
	if (tdxfuzz_run_once(vcpu_fd, 1000) < 0) {
		*value = errno;
		if (errno == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT)
			return TDXFUZZ_ACCESS_MEMFAULT;
		return TDXFUZZ_ACCESS_ERRNO;
	}
	enum tdxfuzz_access a;
	int port = run->exit_reason == KVM_EXIT_IO ? run->io.port : -1;
	if (port == TDXFUZZ_PORT_READ && op == TDXFUZZ_OP_READ) {
		*value = *((uint8_t *)run + run->io.data_offset);
		a = TDXFUZZ_ACCESS_BYTE;
	} else if ((port == TDXFUZZ_PORT_WRITE && op == TDXFUZZ_OP_WRITE) || (port == TDXFUZZ_PORT_TDCALL && op == TDXFUZZ_OP_TDCALL)) {
		a = TDXFUZZ_ACCESS_OK;
	} else if (port == TDXFUZZ_PORT_EXCEPTION) {
		*value = *((uint8_t *)run + run->io.data_offset);
		a = TDXFUZZ_ACCESS_EXCEPTION;
	} else if (run->exit_reason == KVM_EXIT_MMIO) {
		a = TDXFUZZ_ACCESS_MMIO;
	} else {
		*value = run->exit_reason;
		return TDXFUZZ_ACCESS_EXIT;
	}
	tdxfuzz_drain(vcpu_fd, run);
	return a;
}

static enum tdxfuzz_access tdxfuzz_guest_access(int vcpu_fd, struct kvm_run *run, const struct tdxfuzz_guest_vm *g,
						uint64_t gpa, int write, uint8_t byte, uint64_t *value)
{
	return tdxfuzz_guest_run(vcpu_fd, run, g, write ? TDXFUZZ_OP_WRITE : TDXFUZZ_OP_READ, gpa, byte, value);
}

#endif
