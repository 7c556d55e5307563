// The oracle: a reference state written independently of the model, fed
// with every call after it runs, and the predictions it made for that call.
// Invariants reach it through CheckCtx.ref. It reads the model only to learn
// the ids the model gave to what a call created, the host address of a new
// mapping, and the SEAMCALL log; it never asks the model for an answer.

import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import type { Ret } from '../model/result.js';
import type { StepCtx, World } from '../model/world.js';
import { observe, type Prediction } from './observe.js';
import { gfnPrivate, guestReach, indexOf, indexPrivate, liveGmem, slotOf } from './places.js';
import { newRefState, type RefGmem, type RefSlot, type RefState, type RefVm } from './state.js';
import type { ProfileSettings } from '../model/profiles.js';
import { invalidatedGfns, type GfnRanges } from './invalidated.js';

export type { Prediction } from './observe.js';
export type { Place, RefPage, RefRecord } from './state.js';

export class Oracle {
  readonly state: RefState;
  /** What the oracle expected of the last call it saw. */
  now: Prediction = {};
  /** Set if observing a call threw: the oracle itself is broken. */
  broken?: string;

  /** The design's settings the reference needs: how privacy is kept, and whether G1 populate refuses a prepared page. */
  constructor(design: Pick<ProfileSettings, 'inPlaceConversion' | 'populateRefusesPrepared'>) {
    this.state = newRefState(design.inPlaceConversion, design.populateRefusesPrepared);
  }

  observe(w: World, call: ExecCall<Op>, ret: Ret, step: StepCtx): void {
    try {
      this.now = observe(this.state, w, call, ret, step);
    } catch (e) {
      this.now = {};
      this.broken = e instanceof Error ? `${e.message}` : String(e);
    }
  }

  vm(id: number): RefVm | undefined {
    return this.state.vms.get(id);
  }

  /** How many of a VM's vCPUs finished KVM_TDX_INIT_VCPU. */
  initVcpus(vmId: number): number {
    let n = 0;
    for (const v of this.state.vcpus.values()) if (v.vmId === vmId && v.tdxInit) n++;
    return n;
  }

  gmem(id: number): RefGmem | undefined {
    return this.state.gmems.get(id);
  }

  /** The memslot of a GFN as the oracle built it. */
  slot(vmId: number, gfn: number): RefSlot | undefined {
    const vm = this.vm(vmId);
    return vm ? slotOf(vm, gfn) : undefined;
  }

  /** The guest_memfd page backing a GFN: the live file bound there and its index. */
  backing(vmId: number, gfn: number): { gmem: RefGmem; index: number } | undefined {
    const s = this.slot(vmId, gfn);
    const g = liveGmem(this.state, s);
    return g ? { gmem: g, index: indexOf(s!, gfn) } : undefined;
  }

  /** Whether a GFN is private (kvm_mem_is_private()), recomputed. */
  gfnPrivate(vmId: number, gfn: number): boolean {
    const vm = this.vm(vmId);
    return vm ? gfnPrivate(this.state, vm, gfn) : false;
  }

  /** Whether the host must be refused a guest_memfd page. */
  hostPrivate(gmemId: number, index: number): boolean {
    const g = this.gmem(gmemId);
    return g ? indexPrivate(this.state, g, index) : false;
  }

  /** The GFNs a conversion or punch invalidates, per VM id (undefined for other calls). */
  invalidated(call: ExecCall<Op>): GfnRanges | undefined {
    return invalidatedGfns(this.state, call);
  }

  guestReach(vmId: number, gpa: bigint, privateAccess: boolean) {
    const vm = this.vm(vmId);
    return vm ? guestReach(this.state, vm, gpa, privateAccess) : { ok: false as const, why: 'no such VM' };
  }
}
