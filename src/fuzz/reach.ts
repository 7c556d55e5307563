// Generator reach: how often a run produced the shapes that index arithmetic
// and invalidation bugs hide behind. Bindings at a non-zero guest_memfd
// offset, several slots on one file and several files per VM, conversions,
// punches and munmaps over several slots that had live mappings, memslots
// moved while they had mappings, huge leaves demoted by a partial zap, host
// accesses past the end of a guest_memfd, reads after each kind of
// content-changing event, and duplicate vCPU ids per TD state.
// Read by `tdxfuzz fuzz --coverage`; the fuzzer itself never looks at it.

import type { ExecCall } from '../model/exec.js';
import type { Op } from '../program/calls.js';
import { asGfn, LEVEL_2M, LEVEL_4K, levelOf, pagesAt } from '../model/units.js';
import { FALLOC_FLAGS } from '../program/calls.js';
import { segmentsIn } from '../model/intervals.js';
import { findSlot, gmemIndex, slotEnd, slotsOverlapping, type Memslot } from '../model/kvm/memslot.js';
import { sharedBit, type Vm } from '../model/kvm/vm.js';
import type { Ret } from '../model/result.js';
import type { StepCtx, World } from '../model/world.js';
import type { SeamcallRecord } from '../model/tdx/seamcall.js';

/** Content-changing events a later read is classified by. */
export const CONTENT_EVENTS = ['HOST_WRITE', 'guest write', 'INIT_MEM_REGION', 'punch hole', 'fallocate', 'conversion', 'GUEST_ACCEPT', 'MUNMAP'] as const;

/** Every shape a short run is expected to reach (properties/fuzz/reach.test.ts). */
export const REACH_SHAPES = [
  'binding at a non-zero guest_memfd offset',
  'several slots bound to one guest_memfd',
  'several guest_memfds bound in one VM',
  'guest mapping in a slot at a non-zero offset',
  'conversion over several slots with mappings',
  'punch hole over several slots with mappings',
  'munmap over several slots with mappings',
  'memslot moved with mappings',
  '2 MiB private page mapped (PAGE.AUG)',
  'huge leaf demoted by a partial zap',
  'host access past the end of a guest_memfd',
  ...CONTENT_EVENTS.map((e) => `read after ${e}`),
  'duplicate vCPU id (TD INITIALIZED)',
  'duplicate vCPU id (TD RUNNABLE)',
  'duplicate vCPU id (non-TDX VM)',
] as const;

/** A range of pages in one name space: `g<id>` guest_memfd indexes, `v<id>` GFNs of a VM, `a<id>` pages of a mapping. */
interface Span {
  ns: string;
  start: number;
  end: number;
}

interface Track {
  /** Content events so far in this program, oldest first. */
  events: Array<Span & { kind: string }>;
  /** Per VM, the uids of memslots that had a leaf after the previous step. */
  live: Map<number, Set<number>>;
  /** Slot number and base GFN of every memslot uid ever seen live. */
  slotOf: Map<number, { id: number; base: number }>;
}

const ok = (r: Ret) => (r.kind === 'int' && r.value === 0n) || (r.kind === 'outcome' && r.name === 'OK');

function vmOfFd(w: World, fd: number | undefined, kind: 'vm' | 'vcpu'): Vm | undefined {
  const e = fd === undefined ? undefined : w.fds.get(fd);
  if (!e || e.kind !== kind) return undefined;
  return w.vms.get(kind === 'vm' ? e.id : w.vcpus.get(e.id)?.vmId ?? -1);
}

function gfnOf(vm: Vm, gpa: bigint): number {
  return Number((gpa & ~sharedBit(vm)) >> 12n);
}

/** The GFN ranges bound to guest_memfd indexes [start, end). */
function gmemToGfns(w: World, gmemId: number, start: number, end: number): Span[] {
  const g = w.gmems.get(gmemId);
  const vm = g && w.vms.get(g.vmId);
  if (!g || !vm) return [];
  const out: Span[] = [];
  for (const seg of segmentsIn(g.bindings, start, end)) {
    const slot = vm.memslots.find((s) => s.uid === seg.value);
    if (slot) out.push({ ns: `v${vm.id}`, start: slot.baseGfn + seg.start - slot.pgoff, end: slot.baseGfn + seg.end - slot.pgoff });
  }
  return out;
}

/** The guest_memfd index ranges behind GFNs [start, end) of a VM. */
function gfnsToGmem(vm: Vm, start: number, end: number): Span[] {
  return slotsOverlapping(vm.memslots, asGfn(start), asGfn(end)).filter((s) => s.gmemId !== null).map((s) => ({
    ns: `g${s.gmemId}`, start: gmemIndex(s, asGfn(Math.max(start, s.baseGfn))), end: gmemIndex(s, asGfn(Math.min(end, slotEnd(s)))),
  }));
}

/** The GFN ranges whose userspace_addr falls in [va, va + bytes). */
function vaToGfns(w: World, va: bigint, bytes: bigint): Array<Span & { slot: Memslot; vm: Vm }> {
  const out: Array<Span & { slot: Memslot; vm: Vm }> = [];
  for (const vm of w.vms.values()) {
    if (vm.destroyed) continue;
    for (const slot of vm.memslots) {
      const s = slot.uaddr;
      const e = s + BigInt(slot.npages) * 4096n;
      if (s >= va + bytes || va >= e) continue;
      const from = slot.baseGfn + Number(((va > s ? va : s) - s) >> 12n);
      const to = slot.baseGfn + Number(((va + bytes < e ? va + bytes : e) - s + 4095n) >> 12n);
      out.push({ ns: `v${vm.id}`, start: from, end: to, slot, vm });
    }
  }
  return out;
}

/** Memslots of a VM holding at least one leaf of either root. */
function liveSlots(vm: Vm): Set<number> {
  const out = new Set<number>();
  if (vm.destroyed || vm.memslots.length === 0) return out;
  for (const root of [vm.mmu.direct, vm.mmu.mirror]) {
    for (const level of root.leaves) {
      for (const base of level.keys()) {
        const s = findSlot(vm.memslots, base);
        if (s) out.add(s.uid);
      }
    }
  }
  return out;
}

/** What the 2 MiB shapes start from: a step that handed the TD a huge page whole (a successful 2 MiB TDH.MEM.PAGE.AUG, tdx.md §6.1). */
export function mapsHugePage(log: readonly SeamcallRecord[]): boolean {
  return log.some((r) => r.name === 'TDH.MEM.PAGE.AUG' && r.status === 'TDX_SUCCESS' && 'level' in r.args && r.args.level === LEVEL_2M);
}

export class Reach {
  readonly counts = new Map<string, number>();
  private readonly tracks = new WeakMap<World, Track>();

  private inc(k: string): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** Whether the slots an operation covers are several, with a live mapping in one after the first. */
  private severalLive(t: Track, vm: Vm, slots: Memslot[]): boolean {
    if (new Set(slots.map((s) => s.uid)).size < 2) return false;
    const sorted = [...slots].sort((a, b) => a.baseGfn - b.baseGfn);
    const live = t.live.get(vm.id);
    return sorted.slice(1).some((s) => live?.has(s.uid));
  }

  private record(t: Track, kind: string, spans: Span[]): void {
    for (const s of spans) if (s.start < s.end) t.events.push({ ...s, kind });
  }

  private read(t: Track, ns: string, x: number): void {
    for (let i = t.events.length - 1; i >= 0; i--) {
      const e = t.events[i];
      if (e.ns === ns && e.start <= x && x < e.end) {
        this.inc(`read after ${e.kind}`);
        return;
      }
    }
  }

  observe(w: World, call: ExecCall<Op>, ret: Ret, step: StepCtx): void {
    let t = this.tracks.get(w);
    if (!t) this.tracks.set(w, (t = { events: [], live: new Map(), slotOf: new Map() }));
    const a = call.args;
    const h = call.handles[0];
    if (mapsHugePage(step.seamcall.log)) this.inc('2 MiB private page mapped (PAGE.AUG)');
    // A conversion or punch that covers part of a huge private leaf splits it (TDH.MEM.PAGE.DEMOTE) and zaps only its range.
    if ((call.op === 'KVM_SET_MEMORY_ATTRIBUTES' || call.op === 'KVM_SET_MEMORY_ATTRIBUTES2' || call.op === 'FALLOCATE') && ok(ret)
      && step.seamcall.log.some((r) => r.name === 'TDH.MEM.PAGE.DEMOTE' && r.status === 'TDX_SUCCESS')) this.inc('huge leaf demoted by a partial zap');
    switch (call.op) {
      case 'KVM_SET_USER_MEMORY_REGION2': {
        const vm = vmOfFd(w, h, 'vm');
        if (!vm || !ok(ret) || a.size === 0n) break;
        // A slot that had leaves before this call and now sits elsewhere was moved.
        const id = Number(a.slot & 0xffffn);
        const now = vm.memslots.find((s) => s.id === id);
        const was = [...(t.live.get(vm.id) ?? [])].map((uid) => t.slotOf.get(uid)).find((x) => x?.id === id);
        if (now && was && was.base !== now.baseGfn) this.inc('memslot moved with mappings');
        const slot = vm.memslots.find((s) => s.baseGfn === Number(a.gpa >> 12n) && s.gmemId !== null);
        if (!slot) break;
        if (slot.pgoff !== 0) this.inc('binding at a non-zero guest_memfd offset');
        const g = w.gmems.get(slot.gmemId!)!;
        if (new Set(g.bindings.segs.map((s) => s.value)).size >= 2) this.inc('several slots bound to one guest_memfd');
        if (new Set(vm.memslots.map((s) => s.gmemId).filter((x) => x !== null)).size >= 2) this.inc('several guest_memfds bound in one VM');
        break;
      }
      case 'KVM_SET_MEMORY_ATTRIBUTES': {
        const vm = vmOfFd(w, h, 'vm');
        if (!vm || !ok(ret)) break;
        const start = Number(a.gpa >> 12n);
        const end = Number((a.gpa + a.size) >> 12n);
        if (this.severalLive(t, vm, slotsOverlapping(vm.memslots, asGfn(start), asGfn(end)))) this.inc('conversion over several slots with mappings');
        this.record(t, 'conversion', [{ ns: `v${vm.id}`, start, end }, ...gfnsToGmem(vm, start, end)]);
        break;
      }
      case 'KVM_SET_MEMORY_ATTRIBUTES2':
      case 'FALLOCATE': {
        const e = h === undefined ? undefined : w.fds.get(h);
        if (!e || e.kind !== 'gmem' || !ok(ret)) break;
        const g = w.gmems.get(e.id)!;
        const vm = w.vms.get(g.vmId)!;
        const len = call.op === 'FALLOCATE' ? a.len : a.size;
        const start = Number(a.offset >> 12n);
        const end = Math.min(Number((a.offset + len) >> 12n), g.inode.sizePages);
        const punch = call.op === 'FALLOCATE' && (a.mode & FALLOC_FLAGS.PUNCH_HOLE) !== 0n;
        const kind = call.op === 'FALLOCATE' ? (punch ? 'punch hole' : 'fallocate') : 'conversion';
        const bound = segmentsIn(g.bindings, start, end).map((s) => vm.memslots.find((x) => x.uid === s.value)).filter((x): x is Memslot => x !== undefined);
        if (kind !== 'fallocate' && this.severalLive(t, vm, bound)) this.inc(`${punch ? 'punch hole' : 'conversion'} over several slots with mappings`);
        this.record(t, kind, [{ ns: `g${g.id}`, start, end }, ...gmemToGfns(w, g.id, start, end)]);
        break;
      }
      case 'MUNMAP': {
        const m = h === undefined ? undefined : w.mappings.get(h);
        if (!m || !ok(ret)) break;
        const spans = vaToGfns(w, m.va, BigInt(m.sizePages) * 4096n);
        for (const vm of new Set(spans.map((s) => s.vm))) {
          if (this.severalLive(t, vm, spans.filter((s) => s.vm === vm).map((s) => s.slot))) this.inc('munmap over several slots with mappings');
        }
        this.record(t, 'MUNMAP', [{ ns: `a${m.id}`, start: 0, end: m.sizePages }, ...spans]);
        break;
      }
      case 'HOST_WRITE':
      case 'HOST_READ': {
        const m = h === undefined ? undefined : w.mappings.get(h);
        if (!m) break;
        const page = Number(a.offset >> 12n);
        const self: Span = m.kind === 'gmem' ? { ns: `g${m.gmemId}`, start: m.pgoff + page, end: m.pgoff + page + 1 } : { ns: `a${m.id}`, start: page, end: page + 1 };
        // Inside the mapping but at or past the file's size: the fault must be SIGBUS.
        if (m.kind === 'gmem' && !m.unmapped && page < m.sizePages && m.pgoff + page >= (w.gmems.get(m.gmemId)?.inode.sizePages ?? Infinity)) this.inc('host access past the end of a guest_memfd');
        if (call.op === 'HOST_READ') {
          this.read(t, self.ns, self.start);
          break;
        }
        if (!ok(ret)) break;
        const alias = m.kind === 'gmem' ? gmemToGfns(w, m.gmemId, self.start, self.end) : vaToGfns(w, m.va + BigInt(page) * 4096n, 4096n);
        this.record(t, 'HOST_WRITE', [self, ...alias]);
        break;
      }
      case 'GUEST_ACCESS': {
        const vm = vmOfFd(w, h, 'vcpu');
        if (!vm) break;
        const gfn = gfnOf(vm, a.gpa);
        if (a.write === 0n) {
          this.read(t, `v${vm.id}`, gfn);
          break;
        }
        if (ok(ret)) this.record(t, 'guest write', [{ ns: `v${vm.id}`, start: gfn, end: gfn + 1 }, ...gfnsToGmem(vm, gfn, gfn + 1)]);
        break;
      }
      case 'GUEST_ACCEPT': {
        const vm = vmOfFd(w, h, 'vcpu');
        const level = levelOf(a.level, [LEVEL_4K, LEVEL_2M]);
        if (!vm || !ok(ret) || level === null) break;
        const gfn = gfnOf(vm, a.gpa);
        const end = gfn + pagesAt(level);
        this.record(t, 'GUEST_ACCEPT', [{ ns: `v${vm.id}`, start: gfn, end }, ...gfnsToGmem(vm, gfn, end)]);
        break;
      }
      case 'KVM_TDX_INIT_MEM_REGION':
        for (const p of step.populated) {
          const vm = w.vms.get(p.vmId)!;
          this.record(t, 'INIT_MEM_REGION', [{ ns: `v${vm.id}`, start: p.gfn, end: p.gfn + 1 }, ...gfnsToGmem(vm, p.gfn, p.gfn + 1)]);
        }
        break;
      case 'KVM_CREATE_VCPU': {
        const vm = vmOfFd(w, h, 'vm');
        if (!vm || vm.dead || vm.bugged || a.id >= 4096n) break;
        const same = vm.vcpus.filter((id) => w.vcpus.get(id)?.vcpuId === Number(a.id)).length;
        if (same >= (ret.handle !== undefined ? 2 : 1)) this.inc(`duplicate vCPU id (${vm.tdx ? `TD ${vm.tdx.state}` : 'non-TDX VM'})`);
        break;
      }
      // No shape of REACH_SHAPES starts at these calls.
      case 'KVM_CREATE_VM': case 'KVM_CREATE_GUEST_MEMFD': case 'MMAP': case 'MMAP_ANON': case 'HOST_PIN': case 'HOST_UNPIN':
      case 'CLOSE': case 'KVM_TDX_INIT_VM': case 'KVM_TDX_INIT_VCPU': case 'KVM_TDX_FINALIZE_VM': case 'KVM_PRE_FAULT_MEMORY':
        break;
      // A new call fails to compile here until it is placed in one of the groups above.
      default: call.op satisfies never;
    }
    // Leaves in slots at a non-zero offset, and which slots are live for the next step.
    // (A guest access need not mark its VM touched: the call's own VM is looked at too.)
    const own = vmOfFd(w, h, 'vcpu')?.id;
    for (const vm of w.vms.values()) {
      if (!step.touched.vms.has(vm.id) && vm.id !== own && t.live.has(vm.id)) continue;
      const live = liveSlots(vm);
      if ([...live].some((uid) => (vm.memslots.find((s) => s.uid === uid)?.pgoff ?? 0) !== 0) && step.touched.gfns.some(([id]) => id === vm.id)) {
        this.inc('guest mapping in a slot at a non-zero offset');
      }
      t.live.set(vm.id, live);
      for (const uid of live) {
        const slot = vm.memslots.find((x) => x.uid === uid);
        if (slot) t.slotOf.set(uid, { id: slot.id, base: slot.baseGfn });
      }
    }
  }
}
