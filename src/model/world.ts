// The whole model: every kernel object, the host's frames, the TDX module and
// the context of the call being run. Plain data throughout, so a state can be
// snapshotted, compared and rendered.

import type { Gmem } from './gmem/file.js';
import type { Mapping } from './host/mapping.js';
import { FIRST_VA } from './host/mapping.js';
import { newPfnSpace, type PfnSpace } from './host/pfnspace.js';
import type { Vcpu } from './kvm/vcpu.js';
import type { Vm } from './kvm/vm.js';
import { newPhysMem, type PhysMem } from './phys.js';
import type { Profile } from './profiles.js';
import type { BugName } from './bugs.js';
import { newTdxModule, type TdxModule } from './tdx/state.js';
import { newSeamcallCtx, type SeamcallCtx } from './tdx/seamcall.js';
import type { Gfn, Pfn } from './units.js';
import { fault } from './faults.js';

export type FdKind = 'vm' | 'vcpu' | 'gmem';

export interface Fd {
  kind: FdKind;
  id: number;
}

/** What the current call touched, so invariants can check incrementally. */
export interface Touched {
  /** [vmId, start gfn, exclusive end gfn] */
  gfns: Array<[number, number, number]>;
  pfns: Set<Pfn>;
  vms: Set<number>;
  gmems: Set<number>;
}

/** Per-call context: SEAMCALL log, out-fields and what was touched. */
export interface StepCtx {
  seamcall: SeamcallCtx;
  out: Record<string, bigint>;
  touched: Touched;
  /** Free-form notes of what the step did (zaps, splits), for reports. */
  events: string[];
  /** Pages whose content was exposed for the first time in this step: [pfn, byte seen]. */
  firstExposures: Array<{ pfn: Pfn; byte: number; by: 'guest' | 'host' | 'populate' }>;
  /** Pages INIT_MEM_REGION added in this step, with the byte its source held. */
  populated: Array<{ vmId: number; gfn: Gfn; pfn: Pfn; srcByte: number; nullSource: boolean }>;
  /** Host accesses that succeeded in this step (loads, stores, pins). */
  hostAccesses: Array<{ pfn: Pfn; what: string }>;
  /** Frame ranges guest_memfd truncated in this step; `seq` is the SEAMCALL log length at that moment. */
  freedSeq: Array<{ pfn: Pfn; count: number; seq: number; mappedBy: string[] }>;
  /** The tracepoints of this step, if anyone listens; never part of the state. */
  trace: StepTrace | undefined;
}

/**
 * Tracepoints: where the model says what it just did, for whoever checks it
 * (as trace_mm_page_free() does in the kernel). The model calls them and
 * never depends on what a listener does beyond the answer it records.
 */
export interface StepTrace {
  /** Frames [start, end) were just handed back to the host allocator; answers what still maps them, for the step's record. */
  framesFreed(start: Pfn, end: Pfn): string[];
}

export interface World {
  profile: Profile;
  bugs: ReadonlySet<BugName>;
  phys: PhysMem;
  pfns: PfnSpace;
  /** Long-term pins per frame (HOST_PIN). */
  pins: Map<Pfn, number>;
  /** Frames truncated from a guest_memfd while pinned: freed at the last unpin. */
  orphans: Set<Pfn>;
  fds: Map<number, Fd>;
  nextFd: number;
  nextId: number;
  vms: Map<number, Vm>;
  vcpus: Map<number, Vcpu>;
  gmems: Map<number, Gmem>;
  mappings: Map<number, Mapping>;
  nextVa: bigint;
  tdx: TdxModule;
  step: StepCtx;
}

export function newStepCtx(busyAt?: number, trace?: StepTrace): StepCtx {
  return {
    seamcall: newSeamcallCtx(busyAt),
    out: {},
    touched: { gfns: [], pfns: new Set(), vms: new Set(), gmems: new Set() },
    events: [],
    firstExposures: [],
    hostAccesses: [],
    populated: [],
    freedSeq: [],
    trace,
  };
}

/**
 * The design a run models. The seeded bug folio-wrappers is the
 * hugepage-folio design's wrapper setting switched on under another profile
 * (seed 001: AUG, WBINVD and RECLAIM take a folio, an index and a count):
 * this is its one fault point.
 */
function designOf(profile: Profile, bugs: ReadonlySet<BugName>): Profile {
  if (!fault({ bugs }, 'folio-wrappers') || profile.settings.folioWrappers) return profile;
  return { ...profile, settings: { ...profile.settings, folioWrappers: true } };
}

export function newWorld(profile: Profile, bugs: ReadonlySet<BugName>): World {
  const phys = newPhysMem();
  return {
    profile: designOf(profile, bugs), bugs,
    phys, pfns: newPfnSpace(), pins: new Map(), orphans: new Set(),
    fds: new Map(), nextFd: 3, nextId: 1,
    vms: new Map(), vcpus: new Map(), gmems: new Map(), mappings: new Map(),
    nextVa: FIRST_VA,
    tdx: newTdxModule(phys, bugs),
    step: newStepCtx(),
  };
}

export function newId(w: World): number {
  return w.nextId++;
}

export function openFd(w: World, kind: FdKind, id: number): number {
  const fd = w.nextFd++;
  w.fds.set(fd, { kind, id });
  return fd;
}

export function fdOf(w: World, fd: number, kind: FdKind): number | undefined {
  const e = w.fds.get(fd);
  return e && e.kind === kind ? e.id : undefined;
}
