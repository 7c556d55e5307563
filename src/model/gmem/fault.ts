// Faults on host mappings: the guest_memfd fault handler and the dispatch of
// a user fault, from an access or from get_user_pages(), to it or to the
// anonymous fault of host/. The dispatch sits here, above host/, because
// host/ hands frames to guest_memfd and must not know it.

import { GMEM_FLAGS } from '../abi.js';
import { anonFault, type HostPage } from '../host/fault.js';
import type { Mapping } from '../host/mapping.js';
import { PAGE_SHIFT } from '../units.js';
import type { World } from '../world.js';
import { isIndexPrivate } from './inode.js';
import { getPageForExposure } from './pages.js';
import { fault } from '../faults.js';

/** Mainline: everything of a file without INIT_SHARED is private; in-place: the attribute. */
export function gmemIndexPrivate(w: World, gmemId: number, index: number): boolean {
  const gm = w.gmems.get(gmemId)!;
  if (w.profile.settings.inPlaceConversion) return isIndexPrivate(gm.inode, index);
  return (gm.inode.flags & GMEM_FLAGS.INIT_SHARED) === 0n;
}

/**
 * Models kvm_gmem_fault_user_mapping(): a private page, or one past the end
 * of the file, is refused (SIGBUS); the host-maps-private bug drops the
 * privacy check.
 */
function gmemFaultUserMapping(w: World, m: Mapping, page: number): HostPage {
  const gm = w.gmems.get(m.gmemId)!;
  const index = m.pgoff + page;
  if (index >= gm.inode.sizePages) return { ok: false };
  if (gmemIndexPrivate(w, gm.id, index) && !fault(w, 'host-maps-private')) return { ok: false };
  return { ok: true, pfn: getPageForExposure(w, gm, index, 'host') };
}

/**
 * Fault in the page behind a mapping offset, as a user access or GUP would.
 * Models handle_mm_fault(): an offset outside the mapping (or no mapping) is
 * refused, then the mapping's own fault handler runs.
 */
export function hostFault(w: World, m: Mapping | undefined, offset: bigint): HostPage {
  if (!m || m.unmapped || offset >= BigInt(m.sizePages) << BigInt(PAGE_SHIFT)) return { ok: false };
  const page = Number(offset >> BigInt(PAGE_SHIFT));
  if (m.kind === 'anon') return anonFault(w.pfns, w.phys, m, page);
  return gmemFaultUserMapping(w, m, page);
}
