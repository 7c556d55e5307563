// A vCPU fd. For TDX it records whether KVM_TDX_INIT_VCPU has run
// (tdx_vcpu_init() moves vcpu state to INITIALIZED).

import type { Pfn } from '../units.js';

export interface Vcpu {
  id: number;
  vmId: number;
  vcpuId: number;
  fdOpen: boolean;
  tdxInitialized: boolean;
  /** The TDX module's VP handle once TDH.VP.CREATE has run. */
  vp: number | null;
  /** TDVPR and TDCX pages, reclaimed at teardown. */
  tdxPfns: Pfn[];
}
