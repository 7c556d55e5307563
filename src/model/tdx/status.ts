// Named TDX module completion statuses (tdx.md §3). The class lives in the top
// 32 bits; KVM compares only the class for BUSY, so the model does too.

export const TDX_STATUS = {
  TDX_SUCCESS: 0x0000000000000000n,
  TDX_OPERAND_INVALID: 0xc000010000000000n,
  TDX_OPERAND_BUSY: 0x8000020000000000n,
  TDX_PREVIOUS_TLB_EPOCH_BUSY: 0x8000020100000000n,
  TDX_PAGE_METADATA_INCORRECT: 0xc000030000000000n,
  // RECLAIM of a TDR while pages of its TD are still assigned (TDR.CHLDCNT != 0).
  TDX_TD_ASSOCIATED_PAGES_EXIST: 0xc000040000000000n,
  TDX_OP_STATE_INCORRECT: 0xc000060800000000n,
  TDX_NO_VCPUS: 0xc000060900000000n,
  TDX_EPT_WALK_FAILED: 0xc0000b0000000000n,
  TDX_EPT_ENTRY_NOT_PRESENT: 0xc0000b0300000000n,
  TDX_GPA_RANGE_NOT_BLOCKED: 0xc0000b0600000000n,
  TDX_GPA_RANGE_ALREADY_BLOCKED: 0x00000b0700000000n,
  TDX_TLB_TRACKING_NOT_DONE: 0xc0000b0800000000n,
  TDX_EPT_ENTRY_STATE_INCORRECT: 0xc0000b0d00000000n,
  TDX_FLUSHVP_NOT_DONE: 0x8000082400000000n,
  TDX_INTERRUPTED_RESUMABLE: 0x8000000300000000n,
  // Guest-side (TDCALL) statuses that TDG.MEM.PAGE.ACCEPT can return.
  TDX_PAGE_ALREADY_ACCEPTED: 0x00000b0a00000000n,
  TDX_PAGE_SIZE_MISMATCH: 0xc0000b0b00000000n,
} as const;

export type TdxStatus = keyof typeof TDX_STATUS;
export const TDX_STATUS_NAMES = Object.keys(TDX_STATUS) as TdxStatus[];

export function isTdxStatus(s: string): s is TdxStatus {
  return Object.prototype.hasOwnProperty.call(TDX_STATUS, s);
}

/** Models tdx_operand_busy(): compare the status class only. */
export function isBusy(s: TdxStatus): boolean {
  return s === 'TDX_OPERAND_BUSY' || s === 'TDX_PREVIOUS_TLB_EPOCH_BUSY';
}
