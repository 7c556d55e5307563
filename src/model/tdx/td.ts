// TD and vCPU control SEAMCALLs (tdx.md §1, §2.1-2.2, §2.5, §1.4):
// TDH.MNG.CREATE/KEY.CONFIG/ADDCX/INIT, TDH.VP.CREATE/ADDCX/INIT/FLUSH,
// TDH.MNG.VPFLUSHDONE, TDH.MNG.KEY.FREEID, TDH.MR.FINALIZE and
// TDH.PHYMEM.PAGE.RECLAIM.

import type { Pfn } from '../units.js';
import { mrtdDigest } from './mrtd.js';
import { pamtAssign, pamtFree, pamtGet, pamtOwnsOther, pamtRelease } from './pamt.js';
import type { Td, TdxModule } from './state.js';
import type { TdxStatus } from './status.js';

export function mngCreate(m: TdxModule, tdr: Pfn, hkid: number): { status: TdxStatus; td?: number } {
  if (!pamtFree(m, tdr)) return { status: 'TDX_PAGE_METADATA_INCORRECT' };
  const id = m.nextId++;
  const td: Td = {
    id, tdr, hkid, keyConfigured: false, opState: 'UNINITIALIZED', numVcpus: 0, epoch: 0,
    leaves: [new Map(), new Map()], tables: new Map(), topLevel: 3, childCount: 0, mrtd: { records: [], finalized: null },
  };
  m.tds.set(id, td);
  pamtAssign(m, tdr, 0, 'TDR', id);
  return { status: 'TDX_SUCCESS', td: id };
}

function tdOf(m: TdxModule, id: number): Td | undefined {
  return m.tds.get(id);
}

export function mngKeyConfig(m: TdxModule, id: number): TdxStatus {
  const td = tdOf(m, id);
  if (!td || td.hkid === null) return 'TDX_OPERAND_INVALID';
  td.keyConfigured = true;
  return 'TDX_SUCCESS';
}

export function mngAddcx(m: TdxModule, id: number, pfn: Pfn): TdxStatus {
  const td = tdOf(m, id);
  if (!td || td.opState !== 'UNINITIALIZED') return 'TDX_OP_STATE_INCORRECT';
  if (!pamtFree(m, pfn)) return 'TDX_PAGE_METADATA_INCORRECT';
  pamtAssign(m, pfn, 0, 'TDCX', id);
  return 'TDX_SUCCESS';
}

export function mngInit(m: TdxModule, id: number, maxGpaw: boolean): TdxStatus {
  const td = tdOf(m, id);
  if (!td || !td.keyConfigured) return 'TDX_OPERAND_INVALID';
  if (td.opState !== 'UNINITIALIZED') return 'TDX_OP_STATE_INCORRECT';
  td.topLevel = maxGpaw ? 4 : 3;
  td.opState = 'INITIALIZED';
  return 'TDX_SUCCESS';
}

export function vpCreate(m: TdxModule, id: number, tdvpr: Pfn): { status: TdxStatus; vp?: number } {
  const td = tdOf(m, id);
  if (!td || td.opState !== 'INITIALIZED') return { status: 'TDX_OP_STATE_INCORRECT' };
  if (!pamtFree(m, tdvpr)) return { status: 'TDX_PAGE_METADATA_INCORRECT' };
  const vp = m.nextId++;
  m.vps.set(vp, { id: vp, td: id, tdvpr, initialized: false });
  pamtAssign(m, tdvpr, 0, 'TDVPR', id);
  return { status: 'TDX_SUCCESS', vp };
}

export function vpAddcx(m: TdxModule, vp: number, pfn: Pfn): TdxStatus {
  const v = m.vps.get(vp);
  if (!v || v.initialized) return 'TDX_OP_STATE_INCORRECT';
  if (!pamtFree(m, pfn)) return 'TDX_PAGE_METADATA_INCORRECT';
  pamtAssign(m, pfn, 0, 'TDCX', v.td);
  return 'TDX_SUCCESS';
}

export function vpInit(m: TdxModule, vp: number): TdxStatus {
  const v = m.vps.get(vp);
  if (!v || v.initialized) return 'TDX_OP_STATE_INCORRECT';
  v.initialized = true;
  m.tds.get(v.td)!.numVcpus++;
  return 'TDX_SUCCESS';
}

/** TDH.MR.FINALIZE: needs an initialized vCPU; freezes MRTD and makes the TD RUNNABLE. */
export function mrFinalize(m: TdxModule, id: number): TdxStatus {
  const td = tdOf(m, id);
  if (!td || td.opState !== 'INITIALIZED') return 'TDX_OP_STATE_INCORRECT';
  if (td.numVcpus < 1) return 'TDX_NO_VCPUS';
  td.mrtd.finalized = mrtdDigest(td);
  td.opState = 'RUNNABLE';
  return 'TDX_SUCCESS';
}

export function vpFlush(m: TdxModule, vp: number): TdxStatus {
  return m.vps.has(vp) ? 'TDX_SUCCESS' : 'TDX_OPERAND_INVALID';
}

export function mngVpflushdone(m: TdxModule, id: number): TdxStatus {
  const td = tdOf(m, id);
  if (!td) return 'TDX_OPERAND_INVALID';
  td.opState = 'TEARDOWN';
  return 'TDX_SUCCESS';
}

/**
 * TDH.MNG.KEY.FREEID. Choice: the module refuses while the TD still owns
 * guest pages (childCount != 0), which is what makes KVM zap every private
 * leaf before releasing the HKID (tdx.md §7.21).
 */
export function mngKeyFreeid(m: TdxModule, id: number): TdxStatus {
  const td = tdOf(m, id);
  if (!td || td.opState !== 'TEARDOWN') return 'TDX_OP_STATE_INCORRECT';
  if (td.childCount !== 0) return 'TDX_OP_STATE_INCORRECT';
  td.hkid = null;
  return 'TDX_SUCCESS';
}

/**
 * TDH.PHYMEM.PAGE.RECLAIM: control and S-EPT pages come back only once the
 * HKID is gone, and the TDR only once every other page of its TD has come
 * back (the module's TDR.CHLDCNT is zero; TDX_TD_ASSOCIATED_PAGES_EXIST
 * otherwise). The count is not kept here: the PAMT is searched for a page
 * the TD still owns, once per TD teardown.
 */
export function phymemPageReclaim(m: TdxModule, pfn: Pfn): TdxStatus {
  const e = pamtGet(m, pfn);
  if (!e) return 'TDX_SUCCESS';
  const td = m.tds.get(e.owner);
  if (td && td.hkid !== null) return 'TDX_OP_STATE_INCORRECT';
  if (e.type === 'PT_REG') return 'TDX_PAGE_METADATA_INCORRECT';
  if (e.type === 'TDR') {
    if (pamtOwnsOther(m, e.owner, pfn)) return 'TDX_TD_ASSOCIATED_PAGES_EXIST';
  }
  pamtRelease(m, pfn, 0);
  return 'TDX_SUCCESS';
}
