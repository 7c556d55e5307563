// State coverage: which (call, result) pairs, S-EPT entry transitions and TD
// state transitions a run reached, how many steps gave each invariant
// something to check, and how often the generator reached the shapes of
// reach.ts.

import { resultText } from '../model/result.js';
import type { SeamcallName } from '../model/tdx/seamcall.js';
import type { LeafState } from '../model/tdx/state.js';
import { CALL_NAMES, CALLS } from '../program/calls.js';
import { documented } from '../invariants/errno_contract.js';
import { INVARIANT_IDS } from '../invariants/registry.js';
import type { CheckCtx } from '../invariants/types.js';
import type { StepReport } from './runner.js';
import { Reach, REACH_SHAPES } from './reach.js';

/** The S-EPT leaf state a successful SEAMCALL leaves behind. */
const AFTER: Partial<Record<SeamcallName, (before: LeafState | 'FREE') => string>> = {
  'TDH.MEM.PAGE.ADD': () => 'MAPPED',
  'TDH.MEM.PAGE.AUG': () => 'PENDING',
  'TDH.MEM.RANGE.BLOCK': (b) => (b === 'PENDING' ? 'PENDING_BLOCKED' : 'BLOCKED'),
  'TDH.MEM.PAGE.REMOVE': () => 'FREE',
  'TDH.MEM.PAGE.DEMOTE': (b) => (b === 'PENDING_BLOCKED' ? 'PENDING(4K)' : 'MAPPED(4K)'),
};

export const SEPT_STATES = ['FREE', 'MAPPED', 'PENDING', 'BLOCKED', 'PENDING_BLOCKED'] as const;

/**
 * Invariants that apply to every step by construction: no-exception checks
 * that the call did not throw, which every call could. Counting them would
 * only repeat the step count and make a constant look like coverage, so they
 * are listed as "every step" and never counted.
 */
export const EVERY_STEP: ReadonlySet<string> = new Set(['no-exception']);

/** When an invariant had something to look at in a step (none is true on every step). */
const APPLIES: Record<string, (c: CheckCtx) => boolean> = {
  'no-double-add': (c) => c.step.seamcall.log.some((r) => r.name === 'TDH.MEM.PAGE.ADD' || r.name === 'TDH.MEM.PAGE.AUG'),
  'spurious-eio': (c) => c.before.mirrorLeafAtGpa && (c.call.op === 'KVM_TDX_INIT_MEM_REGION' || c.call.op === 'KVM_PRE_FAULT_MEMORY'),
  'hugepage-folio-agnostic': (c) => c.step.seamcall.log.some((r) => 'refusedByWrapper' in r || ('level' in r.args && r.args.level > 0)),
  'null-source': (c) => c.call.op === 'KVM_TDX_INIT_MEM_REGION' && c.call.args.source === 0n,
  'no-host-private-access': (c) => c.step.hostAccesses.length > 0,
  'no-dangling-sept': (c) => c.step.freedSeq.length > 0 || c.step.touched.gfns.length > 0,
  'mirror-sept-agree': (c) => [...c.step.touched.vms].some((id) => c.world.vms.get(id)?.tdx?.td != null),
  'pfn-single-owner': (c) => c.step.touched.pfns.size > 0,
  'attr-consistency': (c) => c.step.touched.gfns.length > 0,
  'td-lifecycle': (c) => [...c.step.touched.vms].some((id) => c.world.vms.get(id)?.tdx) || c.step.seamcall.log.length > 0,
  measurement: (c) => c.step.seamcall.log.length > 0,
  'removal-order': (c) => c.step.seamcall.log.some((r) => r.name === 'TDH.MEM.PAGE.REMOVE') || c.step.freedSeq.length > 0,
  'gmem-bindings': (c) => c.step.touched.gmems.size > 0,
  'zero-before-exposure': (c) => c.step.firstExposures.length > 0,
  'content-integrity': (c) => c.ref.now.access !== undefined,
  'bugged-vm': (c) => [...c.before.vms.values()].some((v) => v.bugged),
  'errno-contract': (c) => c.ret.kind === 'errno',
  'frame-liveness': (c) => c.full || c.step.freedSeq.length > 0 || c.step.touched.pfns.size > 0,
  'no-unexpected-bug': (c) => [...c.world.vms.values()].some((vm) => vm.bugged && !c.before.vms.get(vm.id)?.bugged),
};

/**
 * Documented pairs that only some designs, or something programs never do,
 * can produce: "never reached" says why beside them, so that a run of one
 * profile does not read as a gap in the generator where there is none.
 */
export const ONLY_WHERE: Readonly<Record<string, string>> = {
  'KVM_SET_MEMORY_ATTRIBUTES -> ENOTTY': 'a kernel without per-VM attributes (the kernel stand-in) only',
  'KVM_SET_MEMORY_ATTRIBUTES2 -> EINVAL': 'in-place designs only (inplace, hugepage)',
  'KVM_SET_MEMORY_ATTRIBUTES2 -> EAGAIN': 'in-place designs only (inplace, hugepage)',
  'KVM_SET_MEMORY_ATTRIBUTES2 -> ENOTTY': 'with in-place conversion, only on a descriptor that is not a guest_memfd',
  'KVM_TDX_INIT_VM -> EBUSY': 'only a vCPU creation racing with it, which a program cannot express',
  'KVM_TDX_INIT_MEM_REGION -> EEXIST': 'g1 only (guest_memfd refuses a page already prepared)',
  'KVM_TDX_INIT_MEM_REGION -> EBUSY': 'g1 only (a busy PAGE.ADD after pre-mapping)',
  'KVM_TDX_INIT_MEM_REGION -> EINTR': 'a region of more than 4,096 pages, larger than generated guests',
};

const inc = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

export class Coverage {
  readonly pairs = new Map<string, number>();
  readonly sept = new Map<string, number>();
  readonly td = new Map<string, number>();
  readonly invariants = new Map<string, number>();
  readonly reach = new Reach();
  steps = 0;

  observe(c: CheckCtx, s: StepReport): void {
    this.steps++;
    inc(this.pairs, `${s.call.op} -> ${resultText(s.result)}`);
    for (const r of s.seamcalls) {
      const after = AFTER[r.name];
      if (after && r.status === 'TDX_SUCCESS' && 'entryBefore' in r) inc(this.sept, `${r.entryBefore} -${r.name.replace('TDH.MEM.', '')}-> ${after(r.entryBefore)}`);
    }
    if (s.call.op === 'GUEST_ACCEPT' && s.result.kind === 'outcome' && s.result.name === 'OK') inc(this.sept, 'PENDING -ACCEPT-> MAPPED');
    for (const vm of c.world.vms.values()) {
      const b = c.before.vms.get(vm.id);
      const now = vm.tdx?.state;
      if (b?.tdState && now && b.tdState !== now) inc(this.td, `${b.tdState} -> ${now}`);
      if (!b && now) inc(this.td, `(created) -> ${now}`);
    }
    for (const id of INVARIANT_IDS) if (APPLIES[id]?.(c)) inc(this.invariants, id);
    this.reach.observe(c.world, c.call, c.ret, c.step);
  }

  /** Count of every generator-reach shape, zeros included, in REACH_SHAPES order. */
  reachCounts(): Array<[string, number]> {
    const extra = [...this.reach.counts.keys()].filter((k) => !(REACH_SHAPES as readonly string[]).includes(k)).sort();
    return [...REACH_SHAPES, ...extra].map((k) => [k, this.reach.counts.get(k) ?? 0]);
  }

  /** Every S-EPT leaf state some transition reached or left. */
  septStates(): Set<string> {
    const out = new Set<string>();
    for (const k of this.sept.keys()) for (const st of SEPT_STATES) if (k.startsWith(`${st} `) || k.endsWith(` ${st}`)) out.add(st);
    return out;
  }

  /** Per call: did it succeed at least once, did it fail at least once. */
  callOutcomes(): Map<string, { ok: boolean; failed: boolean }> {
    const out = new Map<string, { ok: boolean; failed: boolean }>();
    for (const op of Object.keys(CALLS)) out.set(op, { ok: false, failed: false });
    for (const k of this.pairs.keys()) {
      const [op, res] = k.split(' -> ');
      const e = out.get(op)!;
      if (/^(\d+|0x[0-9a-f]+|OK)$/.test(res)) e.ok = true;
      else e.failed = true;
    }
    return out;
  }

  /** Errnos a call may return (errno-contract) that the run never produced. */
  unreached(): string[] {
    const out: string[] = [];
    for (const op of CALL_NAMES) {
      for (const e of documented(op)) if (!this.pairs.has(`${op} -> ${e}`)) out.push(`${op} -> ${e}`);
    }
    return out;
  }

  toJSON() {
    return {
      steps: this.steps, pairs: Object.fromEntries(this.pairs), sept: Object.fromEntries(this.sept), td: Object.fromEntries(this.td),
      invariants: Object.fromEntries(this.invariants), reach: Object.fromEntries(this.reach.counts),
    };
  }

  merge(o: ReturnType<Coverage['toJSON']>): void {
    this.steps += o.steps;
    for (const [k, n] of Object.entries(o.pairs)) inc(this.pairs, k, n);
    for (const [k, n] of Object.entries(o.sept)) inc(this.sept, k, n);
    for (const [k, n] of Object.entries(o.td)) inc(this.td, k, n);
    for (const [k, n] of Object.entries(o.invariants)) inc(this.invariants, k, n);
    // Coverage files written before generator reach was counted have no `reach`.
    for (const [k, n] of Object.entries(o.reach ?? {})) inc(this.reach.counts, k, n);
  }

  /** Markdown tables; `previous` (last night's toJSON) adds a trend column. */
  markdown(previous?: ReturnType<Coverage['toJSON']>): string[] {
    const trend = (now: number, before: number | undefined) => (before === undefined ? 'new' : now > before ? `+${now - before}` : `${now - before}`);
    const table = (title: string, m: Map<string, number>, prev?: Record<string, number>) => {
      const rows = [`### ${title}`, '', `| reached | count${prev ? ' | vs previous' : ''} |`, `|---|---${prev ? '|---' : ''}|`];
      for (const [k, n] of [...m].sort((a, b) => a[0].localeCompare(b[0]))) rows.push(`| \`${k}\` | ${n}${prev ? ` | ${trend(n, prev[k])}` : ''} |`);
      if (prev) for (const k of Object.keys(prev)) if (!m.has(k)) rows.push(`| \`${k}\` | 0 | lost |`);
      return [...rows, ''];
    };
    return [
      ...table('Calls and results', this.pairs, previous?.pairs),
      ...table('S-EPT entry transitions', this.sept, previous?.sept),
      ...table('TD state transitions', this.td, previous?.td),
      ...table('Steps that gave each invariant something to check', this.invariants, previous?.invariants),
      `Not counted, because they apply to every step: ${[...EVERY_STEP].map((id) => `\`${id}\``).join(', ')}.`, '',
      ...table('Generator reach', new Map(this.reachCounts()), previous?.reach),
      '### Never reached', '', ...this.unreached().map((u) => `- \`${u}\`${ONLY_WHERE[u] ? ` (${ONLY_WHERE[u]})` : ''}`), '',
    ];
  }

  lines(): string[] {
    const out = ['coverage: (call, result) pairs reached:'];
    for (const [k, n] of [...this.pairs].sort((a, b) => a[0].localeCompare(b[0]))) out.push(`  ${k.padEnd(52)} ${n}`);
    out.push('never reached:', ...this.unreached().map((u) => (ONLY_WHERE[u] ? `  ${u.padEnd(52)} ${ONLY_WHERE[u]}` : `  ${u}`)));
    out.push('S-EPT entry transitions:', ...[...this.sept].sort().map(([k, n]) => `  ${k.padEnd(52)} ${n}`));
    out.push('TD state transitions:', ...[...this.td].sort().map(([k, n]) => `  ${k.padEnd(52)} ${n}`));
    out.push(`steps that gave each invariant something to check (of ${this.steps}):`, ...INVARIANT_IDS.map((id) => `  ${id.padEnd(52)} ${EVERY_STEP.has(id) ? 'every step' : this.invariants.get(id) ?? 0}`));
    out.push('generator reach (steps of each shape):', ...this.reachCounts().map(([k, n]) => `  ${k.padEnd(52)} ${n}`));
    return out;
  }
}
