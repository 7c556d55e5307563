// State of the simulated TDX module (tdx.md §1.1, §3): TDs with their S-EPT,
// epochs and measurement, and the PAMT over every physical frame. Plain data
// only; frames are PFNs and addresses GPAs (units.ts), never struct pages.

import { newIntervalMap, type IntervalMap } from '../intervals.js';
import type { PhysMem } from '../phys.js';
import type { Gpa, Level, Pfn } from '../units.js';

export type OpState = 'UNINITIALIZED' | 'INITIALIZED' | 'RUNNABLE' | 'TEARDOWN';

/** Leaf S-EPT entry states of tdx.md §3.1 (FREE is absence). */
export type LeafState = 'MAPPED' | 'PENDING' | 'BLOCKED' | 'PENDING_BLOCKED';

export interface SeptLeaf {
  gpa: Gpa;
  level: Level;
  state: LeafState;
  pfn: Pfn;
  /** TD epoch recorded by RANGE.BLOCK. */
  bepoch?: number;
}

export type MrtdRecord = { op: 'ADD'; gpa: Gpa } | { op: 'EXTEND'; gpa: Gpa; byte: number };

export interface Vp {
  id: number;
  td: number;
  tdvpr: Pfn;
  initialized: boolean;
}

export interface Td {
  id: number;
  tdr: Pfn;
  hkid: number | null;
  keyConfigured: boolean;
  opState: OpState;
  numVcpus: number;
  epoch: number;
  /** Leaves by level: leaves[level] maps the GPA of the leaf to it. */
  leaves: [Map<Gpa, SeptLeaf>, Map<Gpa, SeptLeaf>];
  /** S-EPT tables below the root, by tableKey(level, GFN of the GPA) of units.ts -> table frame. */
  tables: Map<string, Pfn>;
  /** Level of the highest table below the root: 3 (4-level S-EPT, GPAW 48) or 4 (5-level, GPAW 52). */
  topLevel: 3 | 4;
  /** 4 KiB-equivalents owned by leaves. */
  childCount: number;
  mrtd: { records: MrtdRecord[]; finalized: string | null };
}

export type PamtType = 'TDR' | 'TDCX' | 'TDVPR' | 'PT_EPT' | 'PT_REG';

export interface PamtEntry {
  type: PamtType;
  owner: number;
  /** Page size the frame was assigned at. */
  level: Level;
}

export interface TdxModule {
  /** Physical memory, shared with the host: PAGE.ADD copies and MR.EXTEND reads frames. */
  phys: PhysMem;
  tds: Map<number, Td>;
  vps: Map<number, Vp>;
  /** Each frame's entry, as runs of frames with equal entries (pamt.ts); absent = PT_NDA (free). */
  pamt: IntervalMap<PamtEntry>;
  nextId: number;
  /** The run's seeded bugs, for the module's own fault points (it sees nothing of the world). */
  bugs: ReadonlySet<string>;
}

export function newTdxModule(phys: PhysMem, bugs: ReadonlySet<string> = new Set()): TdxModule {
  return { phys, tds: new Map(), vps: new Map(), pamt: newIntervalMap(), nextId: 1, bugs };
}
