/*
 * tdxfuzz executor: one handler per call of the program format
 * (src/program/calls.ts). Each answers what the kernel answered; the
 * executor itself only answers where touching memory would harm the
 * executor (an access outside a live mapping is reported as SIGBUS, which is
 * what the host would see), and says "U reason" where it cannot run a call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/kvm.h>
#ifndef KVM_TDX_MEASURE_MEMORY_REGION
#define TDXFUZZ_OWN_TDX_UAPI 1
#endif
#include "tdxfuzz_uapi.h"
#include "guest.h"
#include "tdx.h"
#include "ops.h"

/* Program names (vm0, g1, src0) bound to handles; a failed creation binds -1. */
#define MAX_NAMES 1024
static struct { char name[32]; int64_t h; } names[MAX_NAMES];
static int nnames;

void names_reset(void) { nnames = 0; }

static int64_t name_lookup(const char *s, char **end)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");
	if (end)
		*end = (char *)s + n;
	if (n > 0 && s[0] >= '0' && s[0] <= '9')
		return strtoll(s, NULL, 10);
	if (n > 0 && s[0] == '-')
		return -1;
	for (int i = nnames - 1; i >= 0; i--)
		if (strlen(names[i].name) == n && !strncmp(names[i].name, s, n))
			return names[i].h;
	return -1;
}

static void name_bind(const char *name, int64_t h)
{
	if (!name || nnames >= MAX_NAMES)
		return;
	snprintf(names[nnames].name, sizeof(names[nnames].name), "%s", name);
	names[nnames++].h = h;
}

uint64_t arg(const struct req *r, const char *key, uint64_t dflt)
{
	for (int i = 0; i < r->nargs; i++)
		if (!strcmp(r->key[i], key))
			return r->val[i];
	return dflt;
}

/* `@MAP+OFF` is an address inside one of our mappings; NOWHERE when it failed. */
static uint64_t parse_value(const char *s)
{
	if (*s == '@') {
		char *end;
		int64_t h = name_lookup(s + 1, &end);
		uint64_t off = *end == '+' ? strtoull(end + 1, NULL, 0) : 0;
		struct obj *m = obj_get(h, K_MAP);
		return (m && m->addr ? (uint64_t)(uintptr_t)m->addr : NOWHERE) + off;
	}
	return strtoull(s, NULL, 0);
}

void say(struct req *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->out, r->outsz, fmt, ap);
	va_end(ap);
}

void ret(struct req *r, long v)
{
	if (v < 0)
		say(r, "R %s", errno_name(errno));
	else
		say(r, "R %ld", v);
}

static void created(struct req *r, int fd, int kind)
{
	if (fd < 0) {
		say(r, "R %s", errno_name(errno));
		return;
	}
	int h = obj_new(kind);
	if (h < 0) {
		close(fd);
		say(r, "U more than %d handles in one program", MAX_OBJS);
		return;
	}
	objs[h].fd = fd;
	say(r, "R OK %d", h);
}

/* ---- VMs, vCPUs, guest_memfd, memslots, attributes ---- */

static void op_create_vm(struct req *r)
{
	uint64_t type = arg(r, "type", 0);
	int fd = ioctl(kvm(), KVM_CREATE_VM, type);
	int e = errno;
	created(r, fd, K_VM);
	if (fd < 0)
		return;
	struct obj *vm = &objs[nobjs - 1];
	errno = e;
	vm->tdx = type == KVM_X86_TDX_VM;
	if (vm->tdx) {
		vm->split_irqchip_err = tdxfuzz_tdx_enable_split_irqchip(fd) < 0 ? errno : 0;
		vm->g.err = EOPNOTSUPP;
		vm->g.why = "guest code in a TD needs a TD boot image, which the executor lacks";
	} else {
		tdxfuzz_guest_vm_setup(kvm(), fd, &vm->g);
	}
}

static void op_create_vcpu(struct req *r)
{
	int fd = ioctl(obj_fd(r->h[0], K_VM), KVM_CREATE_VCPU, arg(r, "id", 0));
	created(r, fd, K_VCPU);
	if (fd >= 0)
		objs[nobjs - 1].vm = (int)r->h[0];
}

static void op_create_gmem(struct req *r)
{
	struct kvm_create_guest_memfd g = { .size = arg(r, "size", 0), .flags = arg(r, "flags", 0) };
	created(r, ioctl(obj_fd(r->h[0], K_VM), KVM_CREATE_GUEST_MEMFD, &g), K_GMEM);
}

/* `gmem=` is a guest_memfd handle (h:N) or a raw fd number. */
static void op_memslot(struct req *r)
{
	struct kvm_userspace_memory_region2 m;
	memset(&m, 0, sizeof(m));
	m.slot = (uint32_t)arg(r, "slot", 0);
	m.flags = (uint32_t)arg(r, "flags", 0);
	m.guest_phys_addr = arg(r, "gpa", 0);
	m.memory_size = arg(r, "size", 0);
	m.userspace_addr = arg(r, "uaddr", 0);
	m.guest_memfd_offset = arg(r, "offset", 0);
	m.guest_memfd = r->nh > 1 ? (uint32_t)obj_fd(r->h[1], K_GMEM) : (uint32_t)arg(r, "gmem", (uint64_t)-1);
	ret(r, ioctl(obj_fd(r->h[0], K_VM), KVM_SET_USER_MEMORY_REGION2, &m));
}

static void op_attrs(struct req *r)
{
	struct kvm_memory_attributes a = {
		.address = arg(r, "gpa", 0), .size = arg(r, "size", 0),
		.attributes = arg(r, "attributes", 0), .flags = arg(r, "flags", 0),
	};
	ret(r, ioctl(obj_fd(r->h[0], K_VM), KVM_SET_MEMORY_ATTRIBUTES, &a));
}

static void op_attrs2(struct req *r)
{
	struct kvm_memory_attributes2 a;
	memset(&a, 0, sizeof(a));
	a.offset = arg(r, "offset", 0);
	a.size = arg(r, "size", 0);
	a.attributes = arg(r, "attributes", 0);
	a.flags = arg(r, "flags", 0);
	ret(r, ioctl(obj_fd(r->h[0], K_GMEM), KVM_SET_MEMORY_ATTRIBUTES2, &a));
}

static void op_fallocate(struct req *r)
{
	ret(r, fallocate(obj_fd(r->h[0], K_GMEM), (int)arg(r, "mode", 0), (off_t)arg(r, "offset", 0), (off_t)arg(r, "len", 0)));
}

/* close(2) of a stale handle is EBADF without a syscall: its fd number may be reused. */
static void op_close(struct req *r)
{
	int64_t h = r->h[0];
	if (h <= 0 || h >= nobjs || objs[h].kind == K_MAP || objs[h].fd < 0) { errno = EBADF; ret(r, -1); return; }
	struct obj *o = &objs[h];
	if (o->kind == K_VCPU && o->run) {
		munmap(o->run, o->runsz);
		o->run = NULL;
	}
	long v = close(o->fd);
	o->fd = -1;
	ret(r, v);
}

/* ---- TDX ---- */

static void op_tdx(struct req *r, uint32_t id, int kind)
{
	struct obj *o = obj_get(r->h[0], kind);
	int fd = o ? o->fd : -1;
	uint64_t hw = arg(r, "hw_error", 0);
	uint32_t flags = (uint32_t)arg(r, "flags", 0);
	long v;
	if (id == KVM_TDX_INIT_VM) {
		if (o && o->tdx && o->split_irqchip_err) {
			say(r, "U enabling the split IRQCHIP failed: %s", errno_name(o->split_irqchip_err));
			return;
		}
		v = tdxfuzz_tdx_init_vm(fd, flags, (uint8_t)arg(r, "gpaw", 48), &hw);
	} else if (id == KVM_TDX_INIT_MEM_REGION) {
		v = tdxfuzz_tdx_init_mem_region(fd, arg(r, "source", 0), arg(r, "gpa", 0), arg(r, "nr_pages", 0), flags, &hw);
	} else {
		v = tdxfuzz_tdx_op(fd, id, flags, 0, &hw);
	}
	ret(r, v);
}

static void op_pre_fault(struct req *r)
{
	struct kvm_pre_fault_memory p;
	memset(&p, 0, sizeof(p));
	p.gpa = arg(r, "gpa", 0);
	p.size = arg(r, "size", 0);
	p.flags = arg(r, "flags", 0);
	ret(r, ioctl(obj_fd(r->h[0], K_VCPU), KVM_PRE_FAULT_MEMORY, &p));
}

/* ---- the guest ---- */

static struct obj *guest_vcpu(struct req *r, struct obj **vmp, const char *what);

static void op_guest_access(struct req *r)
{
	struct obj *vm;
	struct obj *c = guest_vcpu(r, &vm, "GUEST_ACCESS");
	if (!c)
		return;
	uint64_t v;
	int write = arg(r, "write", 0) != 0;
	switch (tdxfuzz_guest_access(c->fd, c->run, &vm->g, arg(r, "gpa", 0), write, (uint8_t)arg(r, "byte", 0), &v)) {
	case TDXFUZZ_ACCESS_BYTE: say(r, "R %" PRIu64, v); break;
	case TDXFUZZ_ACCESS_OK: say(r, "R OK"); break;
	case TDXFUZZ_ACCESS_MEMFAULT: say(r, "R EXIT_MEMORY_FAULT"); break;
	case TDXFUZZ_ACCESS_MMIO: say(r, "R EXIT_MMIO"); break;
	case TDXFUZZ_ACCESS_ERRNO: say(r, "R %s", errno_name((int)v)); break;
	case TDXFUZZ_ACCESS_EXIT: say(r, "R X:EXIT_%" PRIu64, v); break;
	case TDXFUZZ_ACCESS_EXCEPTION: say(r, "R X:GUEST_EXCEPTION_%" PRIu64, v); break;
	/* The program format's answer for a GPA the guest cannot form. */
	case TDXFUZZ_ACCESS_BEYOND: say(r, "R EINVAL"); break;
	}
}

/* Find (and on first use prepare) the vCPU's run structure; NULL after saying why. */
static struct obj *guest_vcpu(struct req *r, struct obj **vmp, const char *what)
{
	struct obj *c = obj_get(r->h[0], K_VCPU);
	if (!c || c->fd < 0) { errno = EBADF; ret(r, -1); return NULL; }
	struct obj *vm = obj_get(c->vm, K_VM);
	if (vm && vm->tdx) { say(r, "U %s on a TD: %s", what, vm->g.why); return NULL; }
	if (!vm || !vm->g.mem) { say(r, "U %s: %s: %s", what, vm ? vm->g.why : "no VM", errno_name(vm ? vm->g.err : EBADF)); return NULL; }
	if (!c->run) {
		int sz = ioctl(kvm(), KVM_GET_VCPU_MMAP_SIZE, 0);
		void *p = sz > 0 ? mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0) : MAP_FAILED;
		if (p == MAP_FAILED) { say(r, "U %s: mmap of the run structure: %s", what, errno_name(errno)); return NULL; }
		c->run = p;
		c->runsz = sz;
	}
	if (!c->guest_ready) {
		if (tdxfuzz_guest_vcpu_setup(kvm(), c->fd) < 0) { say(r, "U %s: KVM_SET_CPUID2: %s", what, errno_name(errno)); return NULL; }
		c->guest_ready = 1;
	}
	*vmp = vm;
	return c;
}

/*
 * TDG.MEM.PAGE.ACCEPT is a TDCALL. Outside a TD the guest runs the TDCALL
 * and takes #UD, which the program format writes as EINVAL.
 */
static void op_guest_accept(struct req *r)
{
	struct obj *vm;
	struct obj *c = guest_vcpu(r, &vm, "GUEST_ACCEPT");
	if (!c)
		return;
	uint64_t v;
	uint64_t rcx = arg(r, "gpa", 0) | arg(r, "level", 0);
	switch (tdxfuzz_guest_run(c->fd, c->run, &vm->g, TDXFUZZ_OP_TDCALL, rcx, 0, &v)) {
	case TDXFUZZ_ACCESS_EXCEPTION:
		if (v == 6) say(r, "R EINVAL");
		else say(r, "R X:GUEST_EXCEPTION_%" PRIu64, v);
		break;
	case TDXFUZZ_ACCESS_ERRNO: say(r, "R %s", errno_name((int)v)); break;
	case TDXFUZZ_ACCESS_EXIT: say(r, "R X:EXIT_%" PRIu64, v); break;
	default: say(r, "R X:TDCALL_COMPLETED"); break;
	}
}

static const struct { const char *op; void (*fn)(struct req *); } OPS[] = {
	{ "KVM_CREATE_VM", op_create_vm }, { "KVM_CREATE_VCPU", op_create_vcpu },
	{ "KVM_CREATE_GUEST_MEMFD", op_create_gmem }, { "KVM_SET_USER_MEMORY_REGION2", op_memslot },
	{ "KVM_SET_MEMORY_ATTRIBUTES", op_attrs }, { "KVM_SET_MEMORY_ATTRIBUTES2", op_attrs2 },
	{ "FALLOCATE", op_fallocate }, { "MMAP", op_mmap }, { "MMAP_ANON", op_mmap_anon },
	{ "MUNMAP", op_munmap }, { "HOST_PIN", op_host_pin }, { "HOST_UNPIN", op_host_unpin },
	{ "CLOSE", op_close }, { "KVM_PRE_FAULT_MEMORY", op_pre_fault },
	{ "GUEST_ACCESS", op_guest_access }, { "GUEST_ACCEPT", op_guest_accept },
};

static void dispatch(struct req *rp);

void run_line(char *line, char *out, size_t outsz)
{
	struct req r;
	memset(&r, 0, sizeof(r));
	r.out = out;
	r.outsz = outsz;
	char *save = NULL;
	r.op = strtok_r(line, " ", &save);
	if (!r.op) { say(&r, "U empty request"); return; }
	for (char *t; (t = strtok_r(NULL, " ", &save));) {
		if (!strncmp(t, "h:", 2)) {
			if (r.nh < 4)
				r.h[r.nh++] = name_lookup(t + 2, NULL);
		} else if (t[0] == '=') {
			r.bind = t + 1;
		} else {
			char *eq = strchr(t, '=');
			if (!eq || r.nargs >= MAX_ARGS) { say(&r, "U bad argument '%s'", t); return; }
			*eq = 0;
			r.key[r.nargs] = t;
			r.val[r.nargs++] = parse_value(eq + 1);
		}
	}
	dispatch(&r);
	int64_t h = -1;
	if (r.bind && !strncmp(out, "R OK ", 5))
		h = strtoll(out + 5, NULL, 10);
	name_bind(r.bind, h);
}

static void dispatch(struct req *rp)
{
	struct req r = *rp;
	if (kvm() < 0 && strcmp(r.op, "MMAP_ANON") && strncmp(r.op, "HOST_", 5) && strcmp(r.op, "MUNMAP")) {
		say(&r, "U /dev/kvm: %s", errno_name(kvm_open_errno()));
		return;
	}
	if (!strcmp(r.op, "HOST_READ")) { op_host_access(&r, 0); return; }
	if (!strcmp(r.op, "HOST_WRITE")) { op_host_access(&r, 1); return; }
	if (!strcmp(r.op, "KVM_TDX_INIT_VM")) { op_tdx(&r, KVM_TDX_INIT_VM, K_VM); return; }
	if (!strcmp(r.op, "KVM_TDX_INIT_VCPU")) { op_tdx(&r, KVM_TDX_INIT_VCPU, K_VCPU); return; }
	if (!strcmp(r.op, "KVM_TDX_INIT_MEM_REGION")) { op_tdx(&r, KVM_TDX_INIT_MEM_REGION, K_VCPU); return; }
	if (!strcmp(r.op, "KVM_TDX_FINALIZE_VM")) { op_tdx(&r, KVM_TDX_FINALIZE_VM, K_VM); return; }
	for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
		if (!strcmp(OPS[i].op, r.op)) { OPS[i].fn(&r); return; }
	say(&r, "U unknown call %s", r.op);
}
