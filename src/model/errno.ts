// Named errnos and outcomes. A call's result is one of these or a value; bare
// numbers never stand for an error anywhere in the model.

export const ERRNOS = [
  'EPERM', 'ENOENT', 'EINTR', 'EIO', 'E2BIG', 'EBADF', 'EAGAIN', 'ENOMEM', 'EFAULT',
  'EBUSY', 'EEXIST', 'ENODEV', 'EINVAL', 'EFBIG', 'ENOTTY', 'ENOSPC', 'EOPNOTSUPP', 'EHWPOISON', 'ESRCH', 'EOVERFLOW',
] as const;
export type Errno = (typeof ERRNOS)[number];

/** Linux errno numbers, for the C exporters and for --json output. */
export const ERRNO_VALUES: Record<Errno, number> = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12,
  EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, EFBIG: 27, ENOTTY: 25, ENOSPC: 28, ESRCH: 3, EOVERFLOW: 75,
  EOPNOTSUPP: 95, EHWPOISON: 133,
};

export const OUTCOMES = ['OK', 'EXIT_MEMORY_FAULT', 'EXIT_MMIO', 'SIGBUS'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export function isErrno(s: string): s is Errno {
  return (ERRNOS as readonly string[]).includes(s);
}
export function isOutcome(s: string): s is Outcome {
  return (OUTCOMES as readonly string[]).includes(s);
}
