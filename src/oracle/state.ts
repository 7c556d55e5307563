// The oracle's reference state: what a program has built and written, kept
// apart from the model and updated only from each call, its arguments and
// its observable result. Everything ranged is a RangeMap, so the state grows
// with what a program touches, never with the size of a guest.

import type { Hash } from 'node:crypto';
import { RangeMap } from './intervals.js';

export type VmKind = 'DEFAULT' | 'SW_PROTECTED' | 'TDX';
export type TdPhase = 'UNINITIALIZED' | 'INITIALIZED' | 'RUNNABLE';

export interface RefSlot {
  id: number;
  flags: bigint;
  baseGfn: number;
  npages: number;
  uaddr: bigint;
  /** The bound guest_memfd (oracle id), null for a plain slot or once the file is released. */
  gmem: number | null;
  pgoff: number;
  /** The slot serves shared faults from guest_memfd too (the file was created with MMAP). */
  gmemOnly: boolean;
}

/** A measured operation as the oracle predicts it: ADD of a GPA, or EXTEND of 256 bytes all equal to `byte`. */
export type RefRecord = { op: 'ADD'; gpa: number } | { op: 'EXTEND'; gpa: number; byte: number };

/**
 * One page INIT_MEM_REGION added: its ADD, then `extends` EXTENDs of `byte`
 * (16 when measured, 0 when not; fewer only where G1 stops at a failed
 * MR.EXTEND and keeps what it measured, tdx.md §2.3).
 */
export interface RefPage {
  gpa: number;
  byte: number;
  extends: number;
}

export interface RefTd {
  phase: TdPhase;
  pages: RefPage[];
  /** Number of measured operations `pages` stands for. */
  count: number;
  /** Running SHA-384 over the first `hashed` pages, and the last digest taken. */
  hashed: number;
  hash: Hash | null;
  digest: string | null;
}

export interface RefVm {
  id: number;
  kind: VmKind;
  fdOpen: boolean;
  vcpuFds: Set<number>;
  destroyed: boolean;
  slots: RefSlot[];
  /** Per-VM PRIVATE attribute (KVM_SET_MEMORY_ATTRIBUTES). */
  attrs: RangeMap<true>;
  /** GFNs the guest accepted (or INIT_MEM_REGION added) and still holds (accepted.ts). */
  accepted: RangeMap<true>;
  /**
   * Every GFN an accept or an INIT_MEM_REGION ever named, whatever it
   * answered: the only ways a TD's page becomes MAPPED in the S-EPT
   * (TDG.MEM.PAGE.ACCEPT, TDH.MEM.PAGE.ADD), so a GFN outside it has never
   * been accepted. Never cleared: it can only hold more than was accepted.
   */
  named: RangeMap<true>;
  /**
   * GFNs of the TD whose BLOCK, REMOVE or DEMOTE failed (read from the
   * SEAMCALL log), and whether a TRACK did: only there may the S-EPT keep a
   * page the mirror has dropped, as KVM clears the mirror whatever the
   * module answered (tdx.md §5.4, the window a bugged TD leaves).
   */
  zapFailed: RangeMap<true>;
  trackFailed: boolean;
  td: RefTd | null;
  /** The TD's guest physical address width: 48 (shared bit 47) unless INIT_VM chose 52 (shared bit 51). */
  gpaw: number;
}

export interface RefGmem {
  id: number;
  vmId: number;
  sizePages: number;
  flags: bigint;
  /** Pages per folio of a fresh allocation (HugeTLB: 512 or 262144). */
  folio: number;
  /** In-place PRIVATE attribute per index (KVM_SET_MEMORY_ATTRIBUTES2). */
  priv: RangeMap<true>;
  /** Last byte written per index; absent reads 0 (never written, or zeroed since). */
  content: RangeMap<number>;
  /** Pages known to be allocated: fallocated or exposed, and not punched since. */
  allocated: RangeMap<true>;
  /**
   * Pages known to be prepared (zeroed and marked up to date by their first
   * fault or populate): an access through them or a PAGE.ADD into them
   * succeeded, and no punch hole took them since. Fewer than the model may
   * hold (a pre-fault prepares pages too), never more.
   */
  prepared: RangeMap<true>;
  /**
   * G1: pages known not to be prepared: a PAGE.ADD into them failed, which
   * leaves the folio unprepared (kvm_gmem_populate() marks it only when the
   * callback succeeded), and no call that may fault a page in came since
   * (prepared.ts, KEEPS_UNPREPARED).
   */
  unprepared: RangeMap<true>;
  /** Live long-term pins per index (pins.ts). */
  pins: Map<number, Pin[]>;
  fdOpen: boolean;
  mmaps: number;
  released: boolean;
}

export interface RefMapping {
  id: number;
  va: bigint;
  /** First address past the mapping. */
  end: bigint;
  sizePages: number;
  gmem: number | null;
  pgoff: number;
  /** Anonymous pages: last byte written per page. */
  content: RangeMap<number>;
  unmapped: boolean;
}

/** One long-term pin (pins.ts): the guest_memfd page it holds, while that page is still the file's. */
export interface Pin {
  gmem: number;
  index: number;
  live: boolean;
}

/** A place that holds bytes: a guest_memfd page or an anonymous page. */
export type Place = { kind: 'gmem'; gmem: number; index: number } | { kind: 'anon'; mapping: number; page: number };

export interface RefVcpu {
  vmId: number;
  tdxInit: boolean;
}

export interface RefState {
  inPlace: boolean;
  /** G1: kvm_gmem_populate() refuses a page it has already prepared (EEXIST) before it looks at attributes. */
  refusesPrepared: boolean;
  /** Whether any guest_memfd holds a page known not to be prepared (so most steps skip forgetting them). */
  anyUnprepared: boolean;
  fds: Map<number, { kind: 'vm' | 'vcpu' | 'gmem'; id: number }>;
  vms: Map<number, RefVm>;
  vcpus: Map<number, RefVcpu>;
  gmems: Map<number, RefGmem>;
  mappings: Map<number, RefMapping>;
  /** Every pin taken, by mapping and page, newest last (pins.ts; null: an anonymous page's). */
  pins: Map<string, Array<Pin | null>>;
}

export function newRefState(inPlace: boolean, refusesPrepared = false): RefState {
  return { inPlace, refusesPrepared, anyUnprepared: false, fds: new Map(), vms: new Map(), vcpus: new Map(), gmems: new Map(), mappings: new Map(), pins: new Map() };
}

export const placeText = (p: Place): string =>
  p.kind === 'gmem' ? `g${p.gmem} index 0x${p.index.toString(16)}` : `anonymous mapping ${p.mapping} page 0x${p.page.toString(16)}`;
