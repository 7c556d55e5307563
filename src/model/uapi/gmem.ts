// KVM_CREATE_GUEST_MEMFD and fallocate(2) on a guest_memfd. Models
// kvm_gmem_create(), __kvm_gmem_create(), vfs_fallocate() and
// kvm_gmem_fallocate() / kvm_gmem_allocate() / kvm_gmem_punch_hole().

import { FALLOC_FLAGS, GMEM_FLAGS } from '../abi.js';
import { newGmem } from '../gmem/file.js';
import { newInode } from '../gmem/inode.js';
import { allocatePages, truncatePages } from '../gmem/pages.js';
import { hasPrivateMem } from '../kvm/vm.js';
import { invalidateGmemMappings, zapBindings, invalidateFilter } from '../kvm/invalidate.js';
import { created, err, ok, type Ret } from '../result.js';
import { isPageAligned, PAGE_SHIFT, S64_MAX, type Order } from '../units.js';
import { newId, openFd, type World } from '../world.js';
import { gmemFile, negativeLoff, vmIoctl } from './common.js';
import { splitHugeForPunch } from '../gmem/hugetlb.js';
import { fault } from '../faults.js';

/** The creation flags this VM accepts (kvm_gmem_get_supported_flags()). */
export function supportedGmemFlags(w: World, privateMem: boolean): bigint {
  let f = GMEM_FLAGS.MMAP;
  if (!privateMem || w.profile.settings.inPlaceConversion) f |= GMEM_FLAGS.INIT_SHARED;
  if (w.profile.settings.hugetlb) f |= GMEM_FLAGS.HUGETLB_2M | GMEM_FLAGS.HUGETLB_1G;
  return f;
}

export function kvmCreateGuestMemfd(w: World, vmFd: number, size: bigint, flags: bigint): Ret {
  const g = vmIoctl(w, vmFd);
  if (!g.ok) return g.r;
  const vm = g.v;
  if (flags & ~supportedGmemFlags(w, hasPrivateMem(vm))) return err('EINVAL');
  if (negativeLoff(size) || size === 0n || !isPageAligned(size)) return err('EINVAL');
  const huge2m = (flags & GMEM_FLAGS.HUGETLB_2M) !== 0n;
  const huge1g = (flags & GMEM_FLAGS.HUGETLB_1G) !== 0n;
  // Choice: one HugeTLB size at a time, and the file size a multiple of it, as
  // hugetlbfs requires of its i_size ([1G-rfc] leaves this open).
  if (huge2m && huge1g) return err('EINVAL');
  const order: Order = huge1g ? 18 : huge2m ? 9 : 0;
  const pages = Number(size >> BigInt(PAGE_SHIFT));
  if (pages % 2 ** order !== 0) return err('EINVAL');
  const initShared = (flags & GMEM_FLAGS.INIT_SHARED) !== 0n;
  const gm = newGmem(newId(w), vm.id, newInode(pages, flags, order, initShared));
  w.gmems.set(gm.id, gm);
  w.step.touched.gmems.add(gm.id);
  return created(openFd(w, 'gmem', gm.id));
}

export function fallocate(w: World, fd: number, mode: bigint, offset: bigint, len: bigint): Ret {
  const g = gmemFile(w, fd);
  if (!g.ok) return g.r;
  const gm = g.v;
  // vfs_fallocate(): generic checks before the filesystem sees the call.
  if (negativeLoff(offset) || len === 0n || negativeLoff(len)) return err('EINVAL');
  const known = FALLOC_FLAGS.KEEP_SIZE | FALLOC_FLAGS.PUNCH_HOLE | FALLOC_FLAGS.ZERO_RANGE;
  if (mode & ~known) return err('EOPNOTSUPP');
  const modeBits = mode & ~FALLOC_FLAGS.KEEP_SIZE;
  if (modeBits !== 0n && modeBits !== FALLOC_FLAGS.PUNCH_HOLE && modeBits !== FALLOC_FLAGS.ZERO_RANGE) return err('EOPNOTSUPP');
  if (modeBits === FALLOC_FLAGS.PUNCH_HOLE && !(mode & FALLOC_FLAGS.KEEP_SIZE)) return err('EOPNOTSUPP');
  if (offset + len > S64_MAX) return err('EFBIG');
  // kvm_gmem_fallocate()
  if (!(mode & FALLOC_FLAGS.KEEP_SIZE)) return err('EOPNOTSUPP');
  if (mode & ~(FALLOC_FLAGS.KEEP_SIZE | FALLOC_FLAGS.PUNCH_HOLE)) return err('EOPNOTSUPP');
  if (!isPageAligned(offset) || !isPageAligned(len)) return err('EINVAL');
  const start = Number(offset >> BigInt(PAGE_SHIFT));
  const end = Number((offset + len) >> BigInt(PAGE_SHIFT));
  if (mode & FALLOC_FLAGS.PUNCH_HOLE) {
    punchHole(w, gm.id, start, end);
    return ok();
  }
  if (end > gm.inode.sizePages) {
    if (fault(w, 'fallocate-allocates-past-eof') && start < gm.inode.sizePages) allocatePages(w, gm, start, gm.inode.sizePages);
    return err('EINVAL');
  }
  allocatePages(w, gm, start, end);
  w.step.touched.gmems.add(gm.id);
  return ok();
}

/**
 * Models kvm_gmem_punch_hole(): under the invalidate lock, zap every binding
 * of the range, then truncate. Beyond EOF it is a no-op. Attributes are not
 * changed ([st-gmemconv truncate]).
 */
export function punchHole(w: World, gmemId: number, start: number, end: number): void {
  const gm = w.gmems.get(gmemId)!;
  const e = Math.min(end, gm.inode.sizePages);
  if (start >= e) return;
  splitHugeForPunch(w, gm, start, e);
  const filter = invalidateFilter(w, gm, start, e);
  // The file's host mappings go first (unmap_mapping_range() of the truncation).
  invalidateGmemMappings(w, gm, start, e);
  if (fault(w, 'punch-frees-before-zap')) {
    truncatePages(w, gm, start, e);
    zapBindings(w, gm, start, e, filter);
    return;
  }
  zapBindings(w, gm, start, e, filter);
  truncatePages(w, gm, start, e);
}
