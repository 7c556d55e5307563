// `tdxfuzz kernel-info [--executor CMD] [--json]`: what the KVM executor
// probed on the running kernel, and the `kernel` profile settings derived
// from it.

import { PROFILES } from '../model/profiles.js';
import { probeAndApply } from '../kernel/probe.js';
import { jsonLine } from './json.js';
import { buildExecutor } from '../kernel/build.js';

export interface KernelInfoOptions {
  executor?: string;
  json?: boolean;
}

export function kernelInfoCommand(o: KernelInfoOptions, out: (s: string) => void): number {
  const { probe, derived } = probeAndApply({ executor: o.executor });
  const settings = probe.unavailable ? undefined : PROFILES.kernel.settings;
  if (o.json) {
    out(jsonLine({ executor: o.executor ?? buildExecutor(), release: probe.release, available: !probe.unavailable, unavailable: probe.unavailable, probed: probe.facts, settings, guestAccess: derived.guestAccess }));
    return probe.unavailable ? 2 : 0;
  }
  out(`kernel ${probe.release}`);
  out(`executor ${o.executor ?? buildExecutor()}`);
  if (probe.unavailable) {
    out(`unavailable: ${probe.unavailable}`);
    return 2;
  }
  out('probed:');
  for (const [k, v] of Object.entries(probe.facts)) if (k !== 'release') out(`  ${k.padEnd(34)} ${v}`);
  out('kernel profile settings:');
  const g = derived.gates;
  out(`  vmTypes            ${g.vmTypes.join(', ') || '(none)'}  (others: EINVAL)`);
  out(`  memoryAttributes   ${g.memoryAttributes}${g.memoryAttributes ? '' : '  (KVM_SET_MEMORY_ATTRIBUTES: ENOTTY)'}`);
  out(`  inPlaceConversion  ${derived.inPlaceConversion}${derived.inPlaceConversion ? '' : '  (KVM_SET_MEMORY_ATTRIBUTES2: ENOTTY)'}`);
  out(`  preFault           ${g.preFault}${g.preFault ? '' : '  (KVM_PRE_FAULT_MEMORY: EOPNOTSUPP)'}`);
  out(`  reservedSlot       ${g.reservedSlot ? `slot ${g.reservedSlot.slot}, gpa 0x${g.reservedSlot.gpa.toString(16)}, size 0x${g.reservedSlot.size.toString(16)}` : '(none)'}`);
  out(`  guest accesses     ${derived.guestAccess === true ? 'run on non-TD VMs' : `unsupported: ${derived.guestAccess}`}`);
  return 0;
}
