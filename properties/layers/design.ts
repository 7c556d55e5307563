// The design of src/ as units and the arrows allowed between them. A unit is
// a folder of src/, except that the files directly in src/model/ are split
// by role: the definitions everything builds on (`model/base`), the state
// aggregate (`model/world`), the dispatcher (`model/exec`) and the read-only
// view the checks use (`model/view`). Every allowed arrow is listed here
// once, with what it is for; `type` arrows carry only type-only imports.
// design.test.ts fails on any import outside this table, on a value import
// over a type arrow, and on an arrow nobody uses any more; the README's
// table of what is modelled lists the same arrows.

import { relative, sep } from 'node:path';
import { root } from './graph.js';

/** Files directly in src/model/ that define what every layer shares. */
const BASE = ['abi', 'bugs', 'errno', 'faults', 'intervals', 'phys', 'profiles', 'result', 'units'];

/** The unit of a file of src/ (absolute path, or relative to src/). */
export function unitOf(file: string): string {
  const parts = (file.startsWith(root) ? relative(root, file) : file).split(sep).join('/').split('/');
  const name = (p: string) => p.replace(/\.(ts|mjs)$/, '');
  if (parts[0] !== 'model') return name(parts[0]);
  if (parts.length > 2) return `model/${parts[1]}`;
  return BASE.includes(name(parts[1])) ? 'model/base' : `model/${name(parts[1])}`;
}

export type Kind = 'value' | 'type';

/** [from, to, kind, why]: every arrow the design allows. */
export const ARROWS: ReadonlyArray<readonly [string, string, Kind, string]> = [
  // The model, bottom to top. Everything may use the definitions.
  ['model/base', 'model/tdx', 'type', 'an outcome names a TDX status (result.ts)'],
  ['model/host', 'model/base', 'value', 'units, intervals, frame contents'],
  ['model/tdx', 'model/base', 'value', 'units, errnos, frame contents, interval maps (the PAMT\'s runs), its fault points; nothing that knows a folio'],
  ['model/gmem', 'model/base', 'value', 'units, intervals, fault points'],
  ['model/gmem', 'model/host', 'value', 'guest_memfd takes its folios from the host allocator'],
  ['model/gmem', 'model/world', 'type', 'functions take the world'],
  ['model/mmu', 'model/base', 'value', 'units, errnos, fault points'],
  ['model/mmu', 'model/tdx', 'value', 'the folio-taking SEAMCALL wrappers of the hugepage-folio design call the PFN-only ones'],
  ['model/mmu', 'model/gmem', 'value', 'those folio wrappers look the folio up (seed 001); tdx/ itself never does'],
  ['model/mmu', 'model/world', 'type', 'functions take the world'],
  ['model/kvm', 'model/base', 'value', 'units, intervals, errnos, abi flags, fault points'],
  ['model/kvm', 'model/host', 'value', 'KVM\'s TDX code allocates control and S-EPT pages'],
  ['model/kvm', 'model/gmem', 'value', 'fault-in and populate ask guest_memfd for pages; invalidation walks bindings'],
  ['model/kvm', 'model/mmu', 'value', 'map and zap through the funnel; the TDX code registers the S-EPT hooks'],
  ['model/kvm', 'model/tdx', 'value', 'KVM\'s TDX code issues SEAMCALLs through the PFN-only wrappers'],
  ['model/kvm', 'model/world', 'type', 'functions take the world'],
  ['model/uapi', 'model/base', 'value', 'validation ladders: units, errnos, abi flags, fault points'],
  ['model/uapi', 'model/host', 'value', 'mmap, munmap, host loads and stores'],
  ['model/uapi', 'model/gmem', 'value', 'guest_memfd ioctls and fallocate'],
  ['model/uapi', 'model/kvm', 'value', 'each ioctl calls into the KVM object it acts on'],
  ['model/uapi', 'model/mmu', 'value', 'conversions, memslot changes and munmap zap'],
  ['model/uapi', 'model/world', 'value', 'fd and handle lookup'],
  ['model/world', 'model/base', 'value', 'profiles, bugs, units'],
  ['model/world', 'model/host', 'value', 'the host allocator and mappings are created with the world'],
  ['model/world', 'model/tdx', 'value', 'so is the TDX module, and the per-step SEAMCALL context'],
  ['model/world', 'model/gmem', 'type', 'the world holds guest_memfd files'],
  ['model/world', 'model/kvm', 'type', 'and VMs and vCPUs'],
  ['model/exec', 'model/base', 'value', 'the result of a call'],
  ['model/exec', 'model/uapi', 'value', 'dispatch of each call to its ioctl ladder'],
  ['model/exec', 'model/world', 'value', 'a fresh step context per call'],
  ['model/view', 'model/base', 'value', 'units re-exported for the checks: definitions, not answers'],
  ['model/view', 'model/host', 'value', 'the first frame the allocator hands out'],
  ['model/view', 'model/tdx', 'value', 'narrowing SEAMCALL records by leaf'],
  ['model/view', 'model/gmem', 'type', 'state types the checks read'],
  ['model/view', 'model/kvm', 'type', 'state types the checks read'],
  ['model/view', 'model/mmu', 'type', 'state types the checks read'],
  ['model/view', 'model/world', 'type', 'state types the checks read'],
  ['model/view', 'model/exec', 'type', 'the call as the model saw it'],
  // Programs: the text format and the vocabulary.
  ['program', 'model/base', 'value', 'abi flags, errno and outcome names'],
  ['program', 'model/tdx', 'value', 'TDX status names in pinned results'],
  ['program', 'model/exec', 'type', 'the vocabulary is checked against the model\'s calls at compile time'],
  ['program', 'errors', 'value', 'a bad program file is a usage error'],
  // The first oracle: a reference state and the invariants, seeing the model only through the view.
  ['oracle', 'model/view', 'value', 'reads the state and the SEAMCALL log'],
  ['oracle', 'model/base', 'type', 'types'],
  ['oracle', 'model/exec', 'type', 'types'],
  ['oracle', 'model/world', 'type', 'types'],
  ['oracle', 'program', 'value', 'the vocabulary'],
  ['invariants', 'model/view', 'value', 'reads the state, never the model\'s logic'],
  ['invariants', 'model/base', 'type', 'types'],
  ['invariants', 'model/exec', 'type', 'types'],
  ['invariants', 'model/kvm', 'type', 'types'],
  ['invariants', 'model/mmu', 'type', 'types'],
  ['invariants', 'model/tdx', 'type', 'types'],
  ['invariants', 'model/world', 'type', 'types'],
  ['invariants', 'oracle', 'value', 'content and lifecycle are judged against the reference state'],
  ['invariants', 'program', 'type', 'the call vocabulary'],
  // The harness.
  ['fuzz', 'model/base', 'value', 'profiles, bugs, results'],
  ['fuzz', 'model/exec', 'value', 'runs calls'],
  ['fuzz', 'model/world', 'value', 'creates worlds'],
  ['fuzz', 'model/kvm', 'value', 'generator reach reads VM state for its coverage counts'],
  ['fuzz', 'model/tdx', 'type', 'SEAMCALL records in step reports'],
  ['fuzz', 'invariants', 'value', 'checks every step'],
  ['fuzz', 'oracle', 'value', 'feeds the reference state'],
  ['fuzz', 'program', 'value', 'generates and prints programs'],
  ['replay', 'model/base', 'value', 'profiles and bugs a program names'],
  ['replay', 'fuzz', 'value', 'runs the program'],
  ['replay', 'program', 'value', 'reads it'],
  ['replay', 'report', 'value', 'names the steps of a replay'],
  ['replay', 'errors', 'value', 'a program that cannot run as written is a usage error'],
  ['corpus', 'model/base', 'value', 'profiles'],
  ['corpus', 'fuzz', 'value', 'signatures and runs'],
  ['corpus', 'program', 'value', 'reads and writes programs'],
  ['corpus', 'replay', 'value', 'replays each program as written'],
  ['corpus', 'errors', 'value', 'usage errors'],
  ['report', 'model/base', 'value', 'units'],
  ['report', 'model/world', 'type', 'snapshots of the state'],
  ['report', 'fuzz', 'value', 'reruns a program to draw it'],
  ['report', 'program', 'value', 'prints it'],
  ['export', 'model/base', 'value', 'abi values of the C prelude, profiles and bugs'],
  ['export', 'fuzz', 'value', 'runs the program to pin its results'],
  ['export', 'kernel', 'value', 'guest accesses as the executor performs them'],
  ['export', 'program', 'value', 'reads the program'],
  // The second oracle: the real kernel.
  ['kernel', 'model/base', 'value', 'profiles, errnos, results'],
  ['kernel', 'model/exec', 'value', 'the stand-in executor runs the model'],
  ['kernel', 'model/world', 'value', 'the stand-in executor creates a world'],
  ['kernel', 'export', 'value', 'the executor\'s C source shares the uAPI prelude'],
  ['kernel', 'fuzz', 'value', 'the program stream and the model side of a differential run'],
  ['kernel', 'program', 'value', 'programs'],
  // The command line is the top: nothing imports it.
  ['cli', 'model/base', 'value', 'profiles and bugs'],
  ['cli', 'program', 'value', 'programs'],
  ['cli', 'replay', 'value', 'replay'],
  ['cli', 'fuzz', 'value', 'fuzz, shrink, diff'],
  ['cli', 'invariants', 'value', 'invariant ids for --want'],
  ['cli', 'corpus', 'value', 'corpus check and merge'],
  ['cli', 'report', 'value', 'report'],
  ['cli', 'export', 'value', 'export'],
  ['cli', 'kernel', 'value', 'the kernel target'],
  ['cli', 'errors', 'value', 'usage errors and exit codes'],
];

/** The units any file of src/ belongs to, in the order the README lists them. */
export const UNITS = [
  'model/base', 'model/host', 'model/tdx', 'model/gmem', 'model/mmu', 'model/kvm', 'model/uapi', 'model/world', 'model/exec', 'model/view',
  'program', 'oracle', 'invariants', 'fuzz', 'replay', 'corpus', 'report', 'export', 'kernel', 'cli', 'errors',
] as const;
