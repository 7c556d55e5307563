// The SEAMCALL wrapper layer: the only door into the module. Every wrapper
// takes PFNs and levels, never a struct page (the G3 design of "x86/tdx:
// Use PFN directly for mapping guest private memory"); counts the call for
// `[busy=N]` injection; and records name, arguments, status and the state it
// found, so invariants and `replay --json` can see every SEAMCALL.

import { asGpa, type Gpa, type Level, type Pfn, type TableLevel } from '../units.js';
import { accept, walk, type AcceptResult, type WalkState } from './guest.js';
import { septAdd, pageAdd, pageAug, rangeBlock, track, pageRemove, pageDemote, mrExtend, phymemPageWbinvd } from './mem.js';
import { mngAddcx, mngCreate, mngInit, mngKeyConfig, mngKeyFreeid, mngVpflushdone, mrFinalize, phymemPageReclaim, vpAddcx, vpCreate, vpFlush, vpInit } from './td.js';
import { pamtFree, pamtGet } from './pamt.js';
import { leafCovering, leavesAt, leavesIn as septLeavesInTd } from './sept.js';
import type { LeafState, MrtdRecord, OpState, PamtType, Td, TdxModule } from './state.js';
import { TDX_STATUS, type TdxStatus } from './status.js';

export { newTdxModule, type TdxModule } from './state.js';

/** State of the target S-EPT entry before the call (FREE when absent). */
interface EntryBefore { entryBefore: LeafState | 'FREE' }
/** PAMT type of the target frame before the call (NDA when free). */
interface PamtBefore { pamtBefore: PamtType | 'NDA' }
/** The TD's op state before the call (undefined when the TD does not exist). */
interface OpStateBefore { opStateBefore: OpState | undefined }
/** Frame a REMOVE returned, or the frame a WBINVD flushed: present only when the call succeeded. */
interface OutPfn { outPfn?: Pfn }

/** One SEAMCALL as issued: its leaf, the TD it acts on, its operands and its status. */
type Issued<N extends string, A, X = unknown> = { name: N; td: number | null; args: A; status: TdxStatus } & X;
type NoArgs = Record<string, never>;
type GpaLevel = { gpa: Gpa; level: Level };

/**
 * The record of one SEAMCALL, keyed by its leaf name: each leaf carries
 * exactly its own operands and the state it found, so a consumer narrows
 * with `r.name === 'TDH.MEM.PAGE.REMOVE'` and reads `r.args.gpa` unguarded.
 */
export type IssuedRecord =
  | Issued<'TDH.MNG.CREATE', { tdr: Pfn; hkid: number }>
  | Issued<'TDH.MNG.KEY.CONFIG', NoArgs>
  | Issued<'TDH.MNG.ADDCX', { pfn: Pfn }>
  | Issued<'TDH.MNG.INIT', NoArgs>
  | Issued<'TDH.VP.CREATE', { tdvpr: Pfn }>
  | Issued<'TDH.VP.ADDCX', { vp: number; pfn: Pfn }>
  | Issued<'TDH.VP.INIT', { vp: number }>
  | Issued<'TDH.VP.FLUSH', { vp: number }>
  | Issued<'TDH.MNG.VPFLUSHDONE', NoArgs>
  | Issued<'TDH.PHYMEM.CACHE.WB', NoArgs>
  | Issued<'TDH.MNG.KEY.FREEID', NoArgs>
  | Issued<'TDH.MR.FINALIZE', NoArgs, OpStateBefore>
  | Issued<'TDH.PHYMEM.PAGE.RECLAIM', { pfn: Pfn }, PamtBefore>
  | Issued<'TDH.MEM.SEPT.ADD', { gpa: Gpa; level: TableLevel; pfn: Pfn }, PamtBefore>
  | Issued<'TDH.MEM.PAGE.ADD', { gpa: Gpa; pfn: Pfn; src: Pfn }, EntryBefore & PamtBefore & OpStateBefore>
  | Issued<'TDH.MEM.PAGE.AUG', GpaLevel & { pfn: Pfn }, EntryBefore & PamtBefore & OpStateBefore>
  | Issued<'TDH.MEM.RANGE.BLOCK', GpaLevel, EntryBefore>
  | Issued<'TDH.MEM.TRACK', NoArgs, OpStateBefore>
  | Issued<'TDH.MEM.PAGE.REMOVE', GpaLevel, EntryBefore & OpStateBefore & OutPfn>
  | Issued<'TDH.MEM.PAGE.DEMOTE', GpaLevel & { pfn: Pfn }, EntryBefore>
  | Issued<'TDH.MR.EXTEND', { gpa: Gpa }, OpStateBefore>
  | Issued<'TDH.PHYMEM.PAGE.WBINVD', { hkid: number; pfn: Pfn; level: Level }, OutPfn>;

/** A leaf name of the TDX module's SEAMCALL interface that the model issues. */
export type SeamcallName = IssuedRecord['name'];

/** The leaves a wrapper outside tdx/ (mmu/) may refuse without issuing them. */
type Refusable = Extract<IssuedRecord, { name: 'TDH.MEM.PAGE.AUG' | 'TDH.PHYMEM.PAGE.WBINVD' | 'TDH.PHYMEM.PAGE.RECLAIM' }>;

/**
 * A SEAMCALL a wrapper refused before the module saw it: the leaf and
 * operands it would have had, TDX_OPERAND_INVALID, and why.
 */
export type RefusedRecord = Refusable extends infer R
  ? R extends Refusable ? Pick<R, 'name' | 'td' | 'args'> & { status: 'TDX_OPERAND_INVALID'; refusedByWrapper: string } : never
  : never;

export type SeamcallRecord = IssuedRecord | RefusedRecord;

/** The records of the leaves `N`. */
export type RecordOf<N extends SeamcallName> = Extract<SeamcallRecord, { name: N }>;

/** Whether `r` is a record of one of the leaves `names`, narrowing it (for `filter` and `find`). */
export function isLeaf<N extends SeamcallName>(r: SeamcallRecord, ...names: N[]): r is RecordOf<N> {
  return (names as readonly SeamcallName[]).includes(r.name);
}

/** What a refusing wrapper knows of the SEAMCALL it did not issue. */
export type Refusal = RefusedRecord extends infer R ? (R extends RefusedRecord ? Omit<R, 'status' | 'refusedByWrapper'> : never) : never;

/**
 * Log a SEAMCALL that a wrapper outside tdx/ refused without issuing it:
 * the module never saw it, so it is not counted for `[busy=N]`.
 */
export function logRefusal(ctx: SeamcallCtx, rec: Refusal, why: string): { status: 'TDX_OPERAND_INVALID' } {
  ctx.log.push({ ...rec, status: 'TDX_OPERAND_INVALID', refusedByWrapper: why });
  return { status: 'TDX_OPERAND_INVALID' };
}

/** A record as a wrapper builds it, before the call gives it a status (and maybe a frame). */
type Pending = IssuedRecord extends infer R ? (R extends IssuedRecord ? Omit<R, 'status' | 'outPfn'> : never) : never;

export interface SeamcallCtx {
  log: SeamcallRecord[];
  issued: number;
  busyAt?: number;
}

export function newSeamcallCtx(busyAt?: number): SeamcallCtx {
  return { log: [], issued: 0, busyAt };
}

export function statusValue(s: TdxStatus): bigint {
  return TDX_STATUS[s];
}

type Out = { status: TdxStatus; td?: number; vp?: number };
/** What a leaf that hands a frame back to the host returns: the frame, on success. */
type FreeingOut = { status: TdxStatus; pfn?: Pfn };
type FreeingLeaf = 'TDH.MEM.PAGE.REMOVE' | 'TDH.PHYMEM.PAGE.WBINVD';

/** Count one SEAMCALL; true when `[busy=N]` makes this one answer TDX_OPERAND_BUSY. */
function injectBusy(ctx: SeamcallCtx): boolean {
  ctx.issued++;
  return ctx.issued === ctx.busyAt;
}

/** Issue one SEAMCALL: count it, inject BUSY when asked, run it, record it. */
function issue(ctx: SeamcallCtx, rec: Exclude<Pending, { name: FreeingLeaf }>, run: () => Out): Out {
  if (injectBusy(ctx)) {
    ctx.log.push({ ...rec, status: 'TDX_OPERAND_BUSY' });
    return { status: 'TDX_OPERAND_BUSY' };
  }
  const r = run();
  ctx.log.push({ ...rec, status: r.status });
  return r;
}

/** issue() for the leaves that free a frame: the record also names the frame it handed back. */
function issueFreeing(ctx: SeamcallCtx, rec: Extract<Pending, { name: FreeingLeaf }>, run: () => FreeingOut): FreeingOut {
  if (injectBusy(ctx)) {
    ctx.log.push({ ...rec, status: 'TDX_OPERAND_BUSY' });
    return { status: 'TDX_OPERAND_BUSY' };
  }
  const r = run();
  ctx.log.push({ ...rec, status: r.status, ...(r.pfn !== undefined ? { outPfn: r.pfn } : {}) });
  return r;
}

const missingTd = (): { status: TdxStatus } => ({ status: 'TDX_OPERAND_INVALID' });

function entryState(td: Td | undefined, gpa: Gpa, level: Level): LeafState | 'FREE' {
  if (!td) return 'FREE';
  const l = leavesAt(td, level)?.get(gpa);
  return l?.state ?? leafCovering(td, gpa)?.state ?? 'FREE';
}

function pamtType(m: TdxModule, pfn: Pfn): PamtType | 'NDA' {
  return pamtGet(m, pfn)?.type ?? 'NDA';
}

function withTd<O extends { status: TdxStatus }>(m: TdxModule, id: number, f: (td: Td) => O): O | { status: TdxStatus } {
  const td = m.tds.get(id);
  return td ? f(td) : missingTd();
}

export const tdhMngCreate = (m: TdxModule, ctx: SeamcallCtx, tdr: Pfn, hkid: number) =>
  issue(ctx, { name: 'TDH.MNG.CREATE', td: null, args: { tdr, hkid } }, () => mngCreate(m, tdr, hkid));
export const tdhMngKeyConfig = (m: TdxModule, ctx: SeamcallCtx, td: number) =>
  issue(ctx, { name: 'TDH.MNG.KEY.CONFIG', td, args: {} }, () => ({ status: mngKeyConfig(m, td) }));
export const tdhMngAddcx = (m: TdxModule, ctx: SeamcallCtx, td: number, pfn: Pfn) =>
  issue(ctx, { name: 'TDH.MNG.ADDCX', td, args: { pfn } }, () => ({ status: mngAddcx(m, td, pfn) }));
/** `params.maxGpaw` is TD_PARAMS.CONFIG_FLAGS.MAX_GPAW: GPAW 52 and a 5-level S-EPT. */
export const tdhMngInit = (m: TdxModule, ctx: SeamcallCtx, td: number, params: { maxGpaw?: boolean } = {}) =>
  issue(ctx, { name: 'TDH.MNG.INIT', td, args: {} }, () => ({ status: mngInit(m, td, params.maxGpaw === true) }));
export const tdhVpCreate = (m: TdxModule, ctx: SeamcallCtx, td: number, tdvpr: Pfn) =>
  issue(ctx, { name: 'TDH.VP.CREATE', td, args: { tdvpr } }, () => vpCreate(m, td, tdvpr));
export const tdhVpAddcx = (m: TdxModule, ctx: SeamcallCtx, vp: number, pfn: Pfn) =>
  issue(ctx, { name: 'TDH.VP.ADDCX', td: m.vps.get(vp)?.td ?? null, args: { vp, pfn } }, () => ({ status: vpAddcx(m, vp, pfn) }));
export const tdhVpInit = (m: TdxModule, ctx: SeamcallCtx, vp: number) =>
  issue(ctx, { name: 'TDH.VP.INIT', td: m.vps.get(vp)?.td ?? null, args: { vp } }, () => ({ status: vpInit(m, vp) }));
export const tdhVpFlush = (m: TdxModule, ctx: SeamcallCtx, vp: number) =>
  issue(ctx, { name: 'TDH.VP.FLUSH', td: m.vps.get(vp)?.td ?? null, args: { vp } }, () => ({ status: vpFlush(m, vp) }));
export const tdhMngVpflushdone = (m: TdxModule, ctx: SeamcallCtx, td: number) =>
  issue(ctx, { name: 'TDH.MNG.VPFLUSHDONE', td, args: {} }, () => ({ status: mngVpflushdone(m, td) }));
export const tdhPhymemCacheWb = (_m: TdxModule, ctx: SeamcallCtx) =>
  issue(ctx, { name: 'TDH.PHYMEM.CACHE.WB', td: null, args: {} }, () => ({ status: 'TDX_SUCCESS' }));
export const tdhMngKeyFreeid = (m: TdxModule, ctx: SeamcallCtx, td: number) =>
  issue(ctx, { name: 'TDH.MNG.KEY.FREEID', td, args: {} }, () => ({ status: mngKeyFreeid(m, td) }));
export const tdhMrFinalize = (m: TdxModule, ctx: SeamcallCtx, td: number) =>
  issue(ctx, { name: 'TDH.MR.FINALIZE', td, args: {}, opStateBefore: m.tds.get(td)?.opState }, () => ({ status: mrFinalize(m, td) }));
export const tdhPhymemPageReclaim = (m: TdxModule, ctx: SeamcallCtx, pfn: Pfn) =>
  issue(ctx, { name: 'TDH.PHYMEM.PAGE.RECLAIM', td: pamtGet(m, pfn)?.owner ?? null, args: { pfn }, pamtBefore: pamtType(m, pfn) }, () => ({ status: phymemPageReclaim(m, pfn) }));

export const tdhMemSeptAdd = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa, level: TableLevel, pfn: Pfn) =>
  issue(ctx, { name: 'TDH.MEM.SEPT.ADD', td, args: { gpa, level, pfn }, pamtBefore: pamtType(m, pfn) }, () => withTd(m, td, (t) => ({ status: septAdd(m, t, gpa, level, pfn) })));
export const tdhMemPageAdd = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa, pfn: Pfn, src: Pfn) =>
  issue(ctx, {
    name: 'TDH.MEM.PAGE.ADD', td, args: { gpa, pfn, src },
    entryBefore: entryState(m.tds.get(td), gpa, 0), pamtBefore: pamtType(m, pfn), opStateBefore: m.tds.get(td)?.opState,
  }, () => withTd(m, td, (t) => ({ status: pageAdd(m, m.phys, t, gpa, pfn, src) })));
export const tdhMemPageAug = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa, level: Level, pfn: Pfn) =>
  issue(ctx, {
    name: 'TDH.MEM.PAGE.AUG', td, args: { gpa, level, pfn },
    entryBefore: entryState(m.tds.get(td), gpa, level), pamtBefore: pamtType(m, pfn), opStateBefore: m.tds.get(td)?.opState,
  }, () => withTd(m, td, (t) => ({ status: pageAug(m, t, gpa, level, pfn) })));
export const tdhMemRangeBlock = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa, level: Level) =>
  issue(ctx, { name: 'TDH.MEM.RANGE.BLOCK', td, args: { gpa, level }, entryBefore: entryState(m.tds.get(td), gpa, level) }, () => withTd(m, td, (t) => ({ status: rangeBlock(t, gpa, level) })));
export const tdhMemTrack = (m: TdxModule, ctx: SeamcallCtx, td: number) =>
  issue(ctx, { name: 'TDH.MEM.TRACK', td, args: {}, opStateBefore: m.tds.get(td)?.opState }, () => withTd(m, td, (t) => ({ status: track(t) })));
export const tdhMemPageRemove = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa, level: Level) =>
  issueFreeing(ctx, {
    name: 'TDH.MEM.PAGE.REMOVE', td, args: { gpa, level },
    entryBefore: entryState(m.tds.get(td), gpa, level), opStateBefore: m.tds.get(td)?.opState,
  }, () => withTd(m, td, (t) => pageRemove(m, t, gpa, level)));
export const tdhMemPageDemote = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa, level: Level, tablePfn: Pfn) =>
  issue(ctx, { name: 'TDH.MEM.PAGE.DEMOTE', td, args: { gpa, level, pfn: tablePfn }, entryBefore: entryState(m.tds.get(td), gpa, level) }, () => withTd(m, td, (t) => ({ status: pageDemote(m, t, gpa, level, tablePfn) })));
export const tdhMrExtend = (m: TdxModule, ctx: SeamcallCtx, td: number, gpa: Gpa) =>
  issue(ctx, { name: 'TDH.MR.EXTEND', td, args: { gpa }, opStateBefore: m.tds.get(td)?.opState }, () => withTd(m, td, (t) => ({ status: mrExtend(m.phys, t, gpa) })));
export const tdhPhymemPageWbinvd = (m: TdxModule, ctx: SeamcallCtx, hkid: number, pfn: Pfn, level: Level) =>
  issueFreeing(ctx, { name: 'TDH.PHYMEM.PAGE.WBINVD', td: null, args: { hkid, pfn, level } }, () => {
    const status = phymemPageWbinvd(m, pfn, level);
    return status === 'TDX_SUCCESS' ? { status, pfn } : { status };
  });
/** The global KeyID (not a TD's HKID) that tdh_phymem_page_wbinvd_tdr() flushes the TDR with. */
export const TDX_GLOBAL_KEYID = 0;
/** TDH.PHYMEM.PAGE.WBINVD of a reclaimed TDR, keyed with the global KeyID (tdh_phymem_page_wbinvd_tdr()). */
export const tdhPhymemPageWbinvdTdr = (m: TdxModule, ctx: SeamcallCtx, tdr: Pfn) =>
  issueFreeing(ctx, { name: 'TDH.PHYMEM.PAGE.WBINVD', td: null, args: { hkid: TDX_GLOBAL_KEYID, pfn: tdr, level: 0 } }, () => ({ status: phymemPageWbinvd(m, tdr, 0) }));

// Guest-side calls: TDCALLs and hardware walks are not SEAMCALLs and are not counted or logged.
export function tdgMemPageAccept(m: TdxModule, td: number, gpa: Gpa, level: Level): AcceptResult {
  const t = m.tds.get(td);
  return t ? accept(m.phys, t, gpa, level) : { kind: 'status', status: 'TDX_OPERAND_INVALID' };
}

export function guestWalk(m: TdxModule, td: number, gpa: Gpa): { state: WalkState; pfn?: Pfn } {
  const t = m.tds.get(td);
  return t ? walk(t, gpa) : { state: 'NOT_PRESENT' };
}

// Read-only queries for invariants and reports.
export function pamtOwner(m: TdxModule, pfn: Pfn): number | undefined {
  return pamtGet(m, pfn)?.owner;
}
export function pamtRangeFree(m: TdxModule, pfn: Pfn, count: number): boolean {
  return pamtFree(m, pfn, count);
}
export function septLeafAt(m: TdxModule, td: number, gpa: number) {
  const t = m.tds.get(td);
  return t ? leafCovering(t, asGpa(gpa)) : undefined;
}
export function septLeavesIn(m: TdxModule, td: number, start: number, end: number) {
  const t = m.tds.get(td);
  return t ? septLeavesInTd(t, asGpa(start), asGpa(end)) : [];
}
export function mrtdRecordCount(m: TdxModule, td: number): number {
  return m.tds.get(td)?.mrtd.records.length ?? 0;
}
export function mrtdRecords(m: TdxModule, td: number): readonly MrtdRecord[] {
  return m.tds.get(td)?.mrtd.records ?? [];
}
