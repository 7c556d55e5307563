/* tdxfuzz executor: the handle table, the request and the call handlers (ops.c, host.c). */
#ifndef TDXFUZZ_OPS_H
#define TDXFUZZ_OPS_H

#include <stddef.h>
#include <stdint.h>

#define MAX_OBJS 4096
#define MAX_PINS 256

enum { K_FREE, K_VM, K_VCPU, K_GMEM, K_MAP };

struct obj {
	int kind;
	int fd;
	int vm;                       /* vCPU: its VM's handle */
	int tdx;                      /* VM: created with the TDX type */
	int split_irqchip_err;        /* VM (TDX): errno of enabling split IRQCHIP, 0 when on */
	struct tdxfuzz_guest_vm g;    /* VM: the reserved slot for guest accesses */
	struct kvm_run *run;          /* vCPU */
	size_t runsz;
	int guest_ready;              /* vCPU: CPUID set for guest accesses */
	void *addr;                   /* mapping */
	size_t len;
	int unmapped;
};

struct pin {
	int map;
	uint64_t page;
	int ring;                     /* an io_uring whose registered buffer holds the pin */
};

#define MAX_ARGS 16
#define NOWHERE 0xdead000000000000ull

struct req {
	const char *op;
	const char *bind;
	int64_t h[4];
	int nh;
	const char *key[MAX_ARGS];
	uint64_t val[MAX_ARGS];
	int nargs;
	char *out;
	size_t outsz;
};

extern struct obj objs[MAX_OBJS];
extern int nobjs;
extern struct pin pins[MAX_PINS];
extern int npins;

const char *errno_name(int e);
int kvm(void);
int kvm_open_errno(void);
struct obj *obj_get(int64_t h, int kind);
int obj_fd(int64_t h, int kind);
int obj_new(int kind);
void obj_release(struct obj *o);
void pin_release(struct pin *p);
void host_fault(int sig);
void names_reset(void);
void run_line(char *line, char *out, size_t outsz);
uint64_t arg(const struct req *r, const char *key, uint64_t dflt);
void say(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ret(struct req *r, long v);
void op_mmap(struct req *r);
void op_mmap_anon(struct req *r);
void op_munmap(struct req *r);
void op_host_access(struct req *r, int write);
void op_host_pin(struct req *r);
void op_host_unpin(struct req *r);

#endif
