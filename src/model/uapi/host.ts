// Host userspace: mmap(2) of a guest_memfd or of anonymous memory, munmap(2),
// loads, stores and long-term GUP pins. Models the mmap syscall's generic
// checks and kvm_gmem_mmap(); the faults behind an access are gmem/fault.ts.

import { GMEM_FLAGS } from '../abi.js';
import { hostFault } from '../gmem/fault.js';
import { freeFrames } from '../host/pfnspace.js';
import { TASK_SIZE_MAX, type Mapping } from '../host/mapping.js';
import { maybeReleaseGmem } from '../kvm/lifetime.js';
import { invalidateHva } from '../kvm/invalidate.js';
import { readFrame, writeFrame } from '../phys.js';
import { created, err, ok, outcome, val, type Ret } from '../result.js';
import { isPageAligned, PAGE_SHIFT, type Pfn } from '../units.js';
import { newId, type World } from '../world.js';
import { gmemFile } from './common.js';
import { fault } from '../faults.js';

/** Mapping handles are not fds: the runner passes the mapping's id (or -1). */
export function mappingOf(w: World, id: number): Mapping | undefined {
  return w.mappings.get(id);
}

function placeMapping(w: World, m: Omit<Mapping, 'va' | 'id'>): Ret {
  const bytes = BigInt(m.sizePages) << BigInt(PAGE_SHIFT);
  const va = w.nextVa;
  if (va + bytes > TASK_SIZE_MAX) return err('ENOMEM');
  // Leave a 1 GiB-aligned guard gap so mappings never touch.
  w.nextVa = ((va + bytes) | ((1n << 30n) - 1n)) + 1n + (1n << 30n);
  const id = newId(w);
  w.mappings.set(id, { ...m, id, va });
  return created(id);
}

/** Generic mmap(2) checks: length and offset. */
function mmapGeneric(size: bigint, offset: bigint): Ret | null {
  if (size === 0n) return err('EINVAL');
  if (!isPageAligned(offset)) return err('EINVAL');
  const pages = (size + 4095n) >> BigInt(PAGE_SHIFT);
  if (pages << BigInt(PAGE_SHIFT) > TASK_SIZE_MAX) return err('ENOMEM');
  if ((offset >> BigInt(PAGE_SHIFT)) + pages >= 1n << 52n) return err('EOVERFLOW');
  return null;
}

export function mmapGmem(w: World, fd: number, offset: bigint, size: bigint, shared: boolean): Ret {
  const g = gmemFile(w, fd);
  if (!g.ok) return g.r;
  const e = mmapGeneric(size, offset);
  if (e) return e;
  const gm = g.v;
  if (!(gm.inode.flags & GMEM_FLAGS.MMAP)) return err('ENODEV');
  if (!shared) return err('EINVAL');
  const r = placeMapping(w, {
    sizePages: Number((size + 4095n) >> BigInt(PAGE_SHIFT)), kind: 'gmem', gmemId: gm.id,
    pgoff: Number(offset >> BigInt(PAGE_SHIFT)), anon: new Map(), unmapped: false,
  });
  // Only a mapping that exists holds a reference on the file: a failed mmap
  // (ENOMEM) must not keep the guest_memfd alive past its last close.
  if (r.kind === 'outcome') gm.mmaps++;
  return r;
}

export function mmapAnon(w: World, size: bigint): Ret {
  const e = mmapGeneric(size, 0n);
  if (e) return e;
  return placeMapping(w, {
    sizePages: Number((size + 4095n) >> BigInt(PAGE_SHIFT)), kind: 'anon', gmemId: -1, pgoff: 0,
    anon: new Map(), unmapped: false,
  });
}

export function munmap(w: World, id: number): Ret {
  const m = mappingOf(w, id);
  if (!m) return err('EINVAL');
  if (m.unmapped) return ok();
  // The munmap-keeps-ptes bug frees an anonymous mapping's pages but leaves it mapped.
  const keep = m.kind === 'anon' && fault(w, 'munmap-keeps-ptes');
  m.unmapped = !keep;
  invalidateHva(w, m.va, m.va + (BigInt(m.sizePages) << BigInt(PAGE_SHIFT)));
  for (const pfn of m.anon.values()) if (!w.pins.has(pfn)) freeFrames(w.pfns, pfn, 1);
  if (keep) return ok();
  if (m.kind === 'gmem') {
    const gm = w.gmems.get(m.gmemId)!;
    gm.mmaps--;
    maybeReleaseGmem(w, gm);
  }
  return ok();
}

function recordHostAccess(w: World, pfn: Pfn, what: string): void {
  w.step.hostAccesses.push({ pfn, what });
  w.step.touched.pfns.add(pfn);
}

export function hostRead(w: World, id: number, offset: bigint): Ret {
  const p = hostFault(w, mappingOf(w, id), offset);
  if (!p.ok) return outcome('SIGBUS');
  recordHostAccess(w, p.pfn, 'read');
  return val(readFrame(w.phys, p.pfn));
}

export function hostWrite(w: World, id: number, offset: bigint, byte: bigint): Ret {
  const p = hostFault(w, mappingOf(w, id), offset);
  if (!p.ok) return outcome('SIGBUS');
  recordHostAccess(w, p.pfn, 'write');
  writeFrame(w.phys, p.pfn, Number(byte & 0xffn));
  return outcome('OK');
}

/** pin_user_pages(FOLL_LONGTERM): a refused fault is EFAULT, not a signal. */
export function hostPin(w: World, id: number, offset: bigint): Ret {
  const m = mappingOf(w, id);
  const p = hostFault(w, m, offset);
  if (!p.ok) return err('EFAULT');
  recordHostAccess(w, p.pfn, 'pin');
  w.pins.set(p.pfn, (w.pins.get(p.pfn) ?? 0) + 1);
  const key = Number(offset >> BigInt(PAGE_SHIFT));
  const stack = m!.pins?.get(key) ?? [];
  stack.push(p.pfn);
  (m!.pins ??= new Map()).set(key, stack);
  return ok();
}

/** unpin_user_page() of the page that HOST_PIN pinned at this offset; the last unpin frees an orphan. */
export function hostUnpin(w: World, id: number, offset: bigint): Ret {
  const m = mappingOf(w, id);
  const key = Number(offset >> BigInt(PAGE_SHIFT));
  const pfn = m?.pins?.get(key)?.pop();
  if (pfn === undefined) return err('EINVAL');
  const n = (w.pins.get(pfn) ?? 1) - 1;
  if (n > 0) w.pins.set(pfn, n);
  else {
    w.pins.delete(pfn);
    if (w.orphans.delete(pfn)) freeFrames(w.pfns, pfn, 1);
    else if (m!.unmapped && m!.kind === 'anon') freeFrames(w.pfns, pfn, 1);
  }
  return ok();
}


