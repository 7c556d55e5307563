// Capability probing: the executor's PROBE answers KVM_CHECK_EXTENSION for
// guest_memfd, memory attributes, pre-fault and VM types, and what each VM
// type accepts; this turns its `P key value` lines into the gates of the
// `kernel` profile.

import { setKernelGates, type KernelGates } from '../model/profiles.js';
import { runLines, type KernelTarget } from './run.js';

export interface KernelProbe {
  /** Why the kernel cannot be used at all (no /dev/kvm, not permitted, no executor), or undefined. */
  unavailable?: string;
  release: string;
  facts: Record<string, string>;
}

const TYPES: Array<[KernelGates['vmTypes'][number], number]> = [['DEFAULT', 0], ['SW_PROTECTED', 1], ['TDX', 5]];

export function probeKernel(t: KernelTarget = {}): KernelProbe {
  let r;
  try {
    r = runLines(['PROBE'], t, 30_000);
  } catch (e) {
    return { unavailable: e instanceof Error ? e.message : String(e), release: '?', facts: {} };
  }
  const facts: Record<string, string> = {};
  for (const l of r.out) {
    const m = /^P (\S+) (.*)$/.exec(l);
    if (m) facts[m[1]] = m[2];
  }
  const release = facts.release ?? '?';
  if (r.error || r.timedOut) return { unavailable: r.error ?? 'the executor did not answer PROBE in 30 s', release, facts };
  if (facts.kvm !== 'OK') return { unavailable: `/dev/kvm: ${facts.kvm ?? 'no answer'}`, release, facts };
  return { release, facts };
}

export interface DerivedSettings {
  gates: KernelGates;
  inPlaceConversion: boolean;
  /** Guest accesses run on non-TD VMs; otherwise why not. */
  guestAccess: true | string;
}

const yes = (v: string | undefined) => v !== undefined && v !== 'EINVAL' && v !== 'ENOTTY' && Number(v) !== 0;

/** The profile settings under which the model answers as the probed kernel. */
export function deriveSettings(p: KernelProbe): DerivedSettings {
  const f = p.facts;
  const vmTypes = TYPES.filter(([, n]) => f[`vm.${n}`] === 'OK').map(([t]) => t);
  const guest = f['vm.0.guest'] ?? '';
  const m = /slot=(\d+) gpa=(0x[0-9a-f]+) size=(0x[0-9a-f]+) bits=(\d+)/.exec(guest);
  const gates: KernelGates = {
    vmTypes,
    // A zero-sized request answers EINVAL when the ioctl is built in, ENOTTY when not.
    memoryAttributes: f['vm.0.set_memory_attributes'] === 'EINVAL',
    preFault: f['vm.0.pre_fault'] === '0' || (yes(f['cap.pre_fault_memory']) && f['vm.0.pre_fault'] !== 'EOPNOTSUPP'),
    reservedSlot: m ? { slot: Number(m[1]), gpa: BigInt(m[2]), size: BigInt(m[3]) } : null,
    guestBits: m ? Number(m[4]) : null,
  };
  return {
    gates,
    inPlaceConversion: f['vm.0.set_memory_attributes2'] === 'EINVAL',
    guestAccess: m ? true : guest.replace(/^unsupported /, '') || 'not probed',
  };
}

/** Probe once and make the `kernel` profile follow it; the result is kept for the process. */
let cached: { key: string; probe: KernelProbe; derived: DerivedSettings } | undefined;

export function probeAndApply(t: KernelTarget = {}): { probe: KernelProbe; derived: DerivedSettings } {
  const key = t.executor ?? (t.inProcess ? '<in-process>' : '');
  if (!cached || cached.key !== key) {
    const probe = probeKernel(t);
    cached = { key, probe, derived: deriveSettings(probe) };
  }
  if (!cached.probe.unavailable) setKernelGates(cached.derived.gates, cached.derived.inPlaceConversion);
  return cached;
}
