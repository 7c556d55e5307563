// Generator reach: a short run reaches every shape of src/fuzz/reach.ts at
// least once (non-zero guest_memfd offsets, several slots per file and files
// per VM, conversions, punches and munmaps over several live slots, reads
// after each content-changing event, duplicate vCPU ids per TD state, huge
// leaves demoted by a partial zap), and
// the shapes are a deterministic function of the seed.

import { expect, test } from 'vitest';
import { Coverage } from '../../src/fuzz/coverage.js';
import { search } from '../../src/fuzz/engine.js';
import { mapsHugePage, REACH_SHAPES } from '../../src/fuzz/reach.js';
import { programAt } from '../../src/fuzz/stream.js';
import { materialize } from '../../src/fuzz/abstract.js';
import { runProgram, type StepReport } from '../../src/fuzz/runner.js';
import { SEED } from './hunt.js';
import type { ProfileName } from '../../src/model/profiles.js';

// The rarest shape, a huge leaf demoted by a partial zap, comes about once
// in a hundred hugepage programs: 600 of each profile keep it from
// depending on where a seed happens to put it.
const RUNS = Number(process.env.FUZZ_REACH_RUNS ?? 600);

test(`${RUNS} programs each of upstream, inplace and hugepage reach every generator shape`, () => {
  const coverage = new Coverage();
  for (const profile of ['upstream', 'inplace', 'hugepage'] as const) search({ profile, bugs: [], seed: SEED, runs: RUNS, maxCalls: 40, coverage });
  const missing = coverage.reachCounts().filter(([, n]) => n === 0).map(([k]) => k);
  expect(missing).toEqual([]);
  expect(coverage.reachCounts().map(([k]) => k)).toEqual([...REACH_SHAPES]);
  // The shapes travel with the coverage a worker hands back.
  const copy = new Coverage();
  copy.merge(coverage.toJSON());
  expect(copy.reachCounts()).toEqual(coverage.reachCounts());
}, 120_000);

/** Over the first `n` programs of a profile: the steps for which `hit` holds, and the programs with at least one. */
function tally(profile: ProfileName, hit: (s: StepReport, prev: readonly StepReport[]) => boolean, n = 300): { steps: number; programs: number } {
  let steps = 0;
  let programs = 0;
  for (let i = 0; i < n; i++) {
    const r = runProgram(materialize(programAt(profile, 40, SEED, i)), { profile, bugs: [], noInvariants: true });
    const hits = r.steps.filter((s, k) => hit(s, r.steps.slice(0, k))).length;
    steps += hits;
    if (hits > 0) programs++;
  }
  return { steps, programs };
}

test('upstream TDs often receive pages from a source address (TDH.MEM.PAGE.ADD)', () => {
  // 11 of these programs did while the setup's coin flips were biased (chance.test.ts), 75 now.
  const { programs } = tally('upstream', (s) => s.seamcalls.some((c) => c.name === 'TDH.MEM.PAGE.ADD' && c.status === 'TDX_SUCCESS'));
  console.log(`upstream programs with a successful PAGE.ADD: ${programs} of 300`);
  expect(programs).toBeGreaterThanOrEqual(60);
}, 60_000);

test('hugepage programs often hand the TD a whole 2 MiB page', () => {
  // What every 2 MiB mutant and bug needs first: a successful PAGE.AUG at 2 MiB.
  // Random 4 KiB touches break huge pages before a 2 MiB accept comes; the
  // setup's own 2 MiB accept or pre-fault (setup.ts, `huge`) is what makes it
  // common (30 of these 300 programs with it, 11 without).
  expect(tally('hugepage', (s) => mapsHugePage(s.seamcalls)).programs).toBeGreaterThanOrEqual(20);
}, 60_000);

test('in-place programs convert pinned pages, which must be refused (EAGAIN)', () => {
  // The in-place conversion series refuses shared-to-private while a page
  // holds a reference beyond the page cache's; random pins almost never
  // came before a conversion of their page (none in 3,000 programs).
  const refused = tally('inplace', (s) => s.call.op === 'KVM_SET_MEMORY_ATTRIBUTES2' && s.result.kind === 'errno' && s.result.name === 'EAGAIN');
  expect(refused.steps).toBeGreaterThanOrEqual(5);
}, 60_000);

const succeeded = (s: StepReport | undefined) => s !== undefined && s.result.kind !== 'errno';

test('G1 TDs are finalized after a busy populate left a page pre-mapped and a conversion zapped it', () => {
  // What kvm-g1-premap-zap-keeps-count needs (docs/mutants.md): FINALIZE must
  // succeed once the pre-mapped leaf is gone. Random calls almost never zap
  // the one GFN a busy populate left behind before a FINALIZE (1 to 3 times
  // in 3,000 programs); the body's FINALIZEs now sometimes bring that history
  // with them (busyPopulateBefore in src/fuzz/body.ts): 15 here, none before.
  const { steps } = tally('g1', (s, prev) => {
    const [populate, convert] = prev.slice(-2);
    return s.call.op === 'KVM_TDX_FINALIZE_VM' && succeeded(s) && populate?.call.op === 'KVM_TDX_INIT_MEM_REGION'
      && populate.result.kind === 'errno' && populate.result.name === 'EBUSY' && succeeded(convert) && convert.call.op.startsWith('KVM_SET_MEMORY_ATTRIBUTES');
  }, 2000);
  console.log(`g1 FINALIZEs after a zapped busy populate: ${steps} in 2,000 programs`);
  expect(steps).toBeGreaterThanOrEqual(8);
}, 60_000);

test('hugepage TDs accept a whole 2 MiB page right after the host wrote into it while it was shared', () => {
  // What a 2 MiB accept that zeroes only part of the page needs to show
  // (tdx-accept-2m-zeroes-one-page in docs/mutants.md): data the shared side
  // left in the huge page. Host writes now sometimes grow into that history
  // (acceptAfterHistory in src/fuzz/body.ts): 10 here, 1 before.
  const { steps } = tally('hugepage', (s, prev) => {
    const [write, convert] = prev.slice(-2);
    return s.call.op === 'GUEST_ACCEPT' && mapsHugePage(s.seamcalls) && write?.call.op === 'HOST_WRITE' && succeeded(write) && succeeded(convert);
  }, 1000);
  console.log(`hugepage 2 MiB AUGs right after a host write: ${steps} in 1,000 programs`);
  expect(steps).toBeGreaterThanOrEqual(5);
}, 60_000);

test('in-place programs convert a page the guest reaches through a plain memslot over the host\'s mapping', () => {
  // What a notifier that misses the host's mappings needs to show
  // (uapi-attrs2-private-keeps-hva-sptes in docs/mutants.md): a shared SPTE
  // a plain slot built on a guest_memfd page, then a conversion of that page
  // to private, then the guest's read, which must fault. The shape now makes
  // its own shared pages and mapping (convertUnderMapping in src/fuzz/body.ts):
  // 13 here, 2 before.
  const { steps } = tally('inplace', (s, prev) => {
    const [write, convert] = prev.slice(-2);
    return s.call.op === 'GUEST_ACCESS' && s.result.kind === 'outcome' && s.result.name === 'EXIT_MEMORY_FAULT' && write?.call.op === 'GUEST_ACCESS' && write.result.kind === 'outcome' && write.result.name === 'OK'
      && convert?.call.op === 'KVM_SET_MEMORY_ATTRIBUTES2' && succeeded(convert);
  }, 1000);
  console.log(`in-place reads that fault after their page was converted under a plain slot: ${steps} in 1,000 programs`);
  expect(steps).toBeGreaterThanOrEqual(8);
}, 60_000);

test('a VM\'s fd is closed while a vCPU keeps it alive, and the guest still reads its page', () => {
  // What a vCPU that holds no reference on its VM needs to show
  // (kvm-vcpu-holds-no-vm-ref in docs/mutants.md): a VM nothing else holds
  // (no guest_memfd), its fd closed between a guest write and read
  // (closeVmUnderVcpu in src/fuzz/body.ts). Random CLOSEs found it after
  // 16,746 programs with seed 1, and not within 20,000 with seed 2; 23 here,
  // none before.
  const { steps } = tally('upstream', (s, prev) => {
    const close = prev[prev.length - 1];
    return s.call.op === 'GUEST_ACCESS' && s.result.kind === 'int' && close?.call.op === 'CLOSE' && close.call.handles[0]?.startsWith('vm') === true && succeeded(close);
  }, 1500);
  console.log(`guest reads right after their VM's fd was closed: ${steps} in 1,500 programs`);
  expect(steps).toBeGreaterThanOrEqual(12);
}, 60_000);

test('some TDs get a 52-bit guest physical address width (a 5-level S-EPT)', () => {
  // What tdx-mng-init-ignores-max-gpaw needs (docs/mutants.md): no generated
  // program set gpaw before the setup began to, now and then (40 here).
  const { programs } = tally('upstream', (s) => s.call.op === 'KVM_TDX_INIT_VM' && s.call.args.gpaw?.kind === 'int' && s.call.args.gpaw.value === 52n && succeeded(s));
  console.log(`upstream programs with a TD of GPAW 52: ${programs} of 300`);
  expect(programs).toBeGreaterThanOrEqual(25);
}, 60_000);

test('the same seed gives the same programs', () => {
  for (let i = 0; i < 20; i++) expect(programAt('hugepage', 40, SEED, i)).toEqual(programAt('hugepage', 40, SEED, i));
});
