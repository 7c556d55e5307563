// The calls the body's shapes are built from: guest and host accesses,
// conversions, mappings and fallocates of the setup's first guest_memfd,
// and the sizes the shapes count in.

import { FALLOC_FLAGS } from '../program/calls.js';
import { aint, type ACall, type AVal } from './abstract.js';

export const K = 0x1000n;
export const M2 = 0x200000n;

/** What of the design the body's shapes depend on: who owns privacy, and whether KVM maps 2 MiB. */
export interface BodyDesign {
  inPlace: boolean;
  huge: boolean;
}

/** A guest read or write on vCPU pick `cpu`. */
export const guestRead = (cpu: number, gpa: AVal, priv: bigint): ACall => ({ op: 'GUEST_ACCESS', picks: [cpu], args: { gpa, private: aint(priv), write: aint(0) } });
export const guestWrite = (cpu: number, gpa: AVal, priv: bigint, byte: bigint): ACall => ({ op: 'GUEST_ACCESS', picks: [cpu], args: { gpa, private: aint(priv), write: aint(1), byte: aint(byte) } });
/** The vCPU pick of a guest-side call. */
export const cpuOf = (c: ACall): number => c.picks[0] ?? 0;

/**
 * A conversion of [start, start + size) to `attributes`: through the first
 * guest_memfd (`start` is a file offset) or through the VM's attributes
 * (`start` is a GPA).
 */
export function conversion(viaFile: boolean, start: AVal, size: bigint, attributes = 0n): ACall {
  const range = { size: aint(size), attributes: aint(attributes), flags: aint(0) };
  return viaFile
    ? { op: 'KVM_SET_MEMORY_ATTRIBUTES2', picks: [0], args: { offset: start, ...range } }
    : { op: 'KVM_SET_MEMORY_ATTRIBUTES', picks: [0], args: { gpa: start, ...range } };
}
export const hostRead = (pick: number, offset: AVal): ACall => ({ op: 'HOST_READ', picks: [pick], args: { offset } });
export const hostWrite = (pick: number, offset: AVal, byte: bigint): ACall => ({ op: 'HOST_WRITE', picks: [pick], args: { offset, byte: aint(byte) } });
/** A shared mapping of [offset, offset + size) of a guest_memfd. */
export const mapFile = (pick: number, offset: bigint, size: bigint): ACall => ({ op: 'MMAP', picks: [pick], args: { offset: aint(offset), size: aint(size), shared: aint(1) } });
/** A FALLOCATE of the first guest_memfd: `punch` a hole, else allocate. */
export const fallocate = (punch: boolean, offset: AVal, len: bigint): ACall => ({
  op: 'FALLOCATE', picks: [0], args: { mode: aint(FALLOC_FLAGS.KEEP_SIZE | (punch ? FALLOC_FLAGS.PUNCH_HOLE : 0n)), offset, len: aint(len) },
});

/** A punch hole of the first guest_memfd over [offset, offset + len). */
export function punchRange(offset: bigint, len: bigint): ACall {
  return fallocate(true, aint(offset), len);
}
