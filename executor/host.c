/*
 * tdxfuzz executor: host memory calls (MMAP, MMAP_ANON, MUNMAP, HOST_READ,
 * HOST_WRITE, HOST_PIN, HOST_UNPIN). A load or store outside a live mapping
 * is answered SIGBUS without touching memory, since touching it would harm
 * the executor; every other answer is the host kernel's.
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

/* ---- host memory ---- */

static void mapped(struct req *r, void *p, uint64_t len)
{
	if (p == MAP_FAILED) {
		say(r, "R %s", errno_name(errno));
		return;
	}
	int h = obj_new(K_MAP);
	if (h < 0) {
		munmap(p, len);
		say(r, "U more than %d handles in one program", MAX_OBJS);
		return;
	}
	objs[h].addr = p;
	objs[h].len = len;
	say(r, "R OK %d", h);
}

void op_mmap(struct req *r)
{
	uint64_t len = arg(r, "size", 0);
	int flags = arg(r, "shared", 0) ? MAP_SHARED : MAP_PRIVATE;
	mapped(r, mmap(NULL, len, PROT_READ | PROT_WRITE, flags, obj_fd(r->h[0], K_GMEM), (off_t)arg(r, "offset", 0)), len);
}

void op_mmap_anon(struct req *r)
{
	uint64_t len = arg(r, "size", 0);
	mapped(r, mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), len);
}

/* A stale mapping handle is EINVAL; a second munmap of the same mapping is 0, as the model says. */
void op_munmap(struct req *r)
{
	struct obj *m = obj_get(r->h[0], K_MAP);
	if (!m) { errno = EINVAL; ret(r, -1); return; }
	if (m->unmapped) { ret(r, 0); return; }
	long v = munmap(m->addr, m->len);
	if (v == 0)
		m->unmapped = 1;
	ret(r, v);
}

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;

void host_fault(int sig)
{
	if (fault_armed)
		siglongjmp(fault_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The byte's address, or NULL when it is outside a live mapping. */
static volatile uint8_t *host_addr(struct req *r)
{
	struct obj *m = obj_get(r->h[0], K_MAP);
	uint64_t off = arg(r, "offset", 0);
	if (!m || m->unmapped || off >= m->len)
		return NULL;
	return (volatile uint8_t *)m->addr + off;
}

void op_host_access(struct req *r, int write)
{
	volatile uint8_t *p = host_addr(r);
	if (!p) { say(r, "R SIGBUS"); return; }
	int sig = sigsetjmp(fault_jmp, 1);
	if (sig) {
		fault_armed = 0;
		say(r, sig == SIGBUS ? "R SIGBUS" : "R X:SIGSEGV");
		return;
	}
	fault_armed = 1;
	if (write) {
		*p = (uint8_t)arg(r, "byte", 0);
		fault_armed = 0;
		say(r, "R OK");
	} else {
		uint8_t v = *p;
		fault_armed = 0;
		say(r, "R %u", v);
	}
}

/*
 * A long-term GUP pin as userspace can take one: registering the page as an
 * io_uring fixed buffer (pin_user_pages() with FOLL_LONGTERM).
 */
void op_host_pin(struct req *r)
{
	struct obj *m = obj_get(r->h[0], K_MAP);
	uint64_t off = arg(r, "offset", 0);
	if (npins >= MAX_PINS) { say(r, "U more than %d pins in one program", MAX_PINS); return; }
	uint32_t params[30];
	memset(params, 0, sizeof(params));
	int ring = (int)syscall(__NR_io_uring_setup, 1, params);
	if (ring < 0) { say(r, "U HOST_PIN needs io_uring, which is unavailable: %s", errno_name(errno)); return; }
	struct iovec iov = {
		.iov_base = (void *)(uintptr_t)(((m && !m->unmapped ? (uint64_t)(uintptr_t)m->addr : NOWHERE) + off) & ~0xfffull),
		.iov_len = 0x1000,
	};
	if (m && !m->unmapped && off >= m->len)
		iov.iov_base = (void *)(uintptr_t)NOWHERE;
	long v = syscall(__NR_io_uring_register, ring, 0 /* IORING_REGISTER_BUFFERS */, &iov, 1);
	if (v < 0) {
		int e = errno;
		close(ring);
		errno = e;
		ret(r, -1);
		return;
	}
	pins[npins++] = (struct pin){ .map = (int)r->h[0], .page = off >> 12, .ring = ring };
	ret(r, 0);
}

void pin_release(struct pin *p)
{
	syscall(__NR_io_uring_register, p->ring, 1 /* IORING_UNREGISTER_BUFFERS */, NULL, 0);
	close(p->ring);
}

void op_host_unpin(struct req *r)
{
	uint64_t page = arg(r, "offset", 0) >> 12;
	for (int i = npins - 1; i >= 0; i--) {
		if (pins[i].map == r->h[0] && pins[i].page == page) {
			pin_release(&pins[i]);
			pins[i] = pins[--npins];
			ret(r, 0);
			return;
		}
	}
	errno = EINVAL;
	ret(r, -1);
}

