// The body's 2 MiB shapes (designs that map 2 MiB): a huge leaf split
// under the guest, and a 2 MiB accept after the huge page's history left
// something for it to undo.

import { ATTR_FLAGS } from '../program/calls.js';
import { aint, type ACall } from './abstract.js';
import { conversion, fallocate, guestRead, guestWrite, hostRead, hostWrite, K, M2, mapFile, punchRange, type BodyDesign } from './build.js';

export const isHugeAccept = (c: ACall) => c.op === 'GUEST_ACCEPT' && c.args.level?.k === 'int' && c.args.level.v === 1n;

/**
 * A huge page changed under the guest, after a 2 MiB accept of an aligned
 * range (the first huge page of a slot usually holds 4 KiB leaves from the
 * setup's image and touches, so often the next one). Four shapes:
 * - 0: the last page alone is converted to shared first (or, with bit 4,
 *   punched out of the file), so the range is not uniformly private (or not
 *   wholly in the file): the fault must map 4 KiB and the accept answer a
 *   size mismatch;
 * - 1: the guest writes the last page, every page but that one is converted
 *   to shared, and the guest reads it back: the zap must demote the huge
 *   leaf and keep that page (tdx_sept_split_private_spte()), not take the
 *   whole leaf and what the guest wrote with it;
 * - 2: the guest writes the last page, the huge range is punched out and
 *   pre-faulted again: its new frames (likely the same ones) must all be
 *   zeroed before they are seen, the last included;
 * - 3: the guest writes the second page, that page alone is converted to
 *   shared, and the host maps the huge page of the file and reads it: an
 *   in-place conversion keeps the page, so the host sees what the guest
 *   wrote, not a page prepared (zeroed) again because the huge mapping left
 *   it out of its own preparation.
 * `bits` (five bits of the call's own draws) chooses: the shape (its two
 * low bits), whether a conversion goes through the file (in-place
 * conversion; always for 3, and always where the file owns privacy) or the
 * VM's attributes (bit 2), and whether the
 * accept takes the huge page of its GPA (bits 2 and 3 clear) or, three
 * times in four, the next one (always for 3). Ranges one page short of, or
 * one page at the end of, a huge page are rare among random arguments.
 */
export function splitAfter(c: ACall, bits: number, design: BodyDesign): ACall[] {
  const gpa = c.args.gpa?.k === 'int' ? c.args.gpa.v : 0n;
  const base = (gpa & ~(M2 - 1n)) + (bits & 12 ? M2 : 0n);
  const last = base + M2 - K;
  // The shape runs on the first vCPU, the one a setup initializes: the pick
  // that chose the variant would often name a vCPU that cannot run.
  const cpu = 0;
  const variant = bits & 3;
  // Where the file owns privacy the VM's attributes convert nothing, so the conversion always goes through it.
  const convert = (start: bigint, size: bigint, viaFile = design.inPlace || (bits & 4) !== 0): ACall => conversion(viaFile, aint(start), size);
  const accept: ACall = { ...c, picks: [cpu], args: { ...c.args, gpa: aint(base), level: aint(1n) } };
  const read = (gpa: bigint) => guestRead(cpu, aint(gpa), 1n);
  if (variant === 0) return [bits & 16 ? punchRange(last, K) : convert(last, K), accept, read(base)];
  if (variant === 3) {
    // The next huge page: the first one usually holds the setup's 4 KiB leaves.
    const next = (gpa & ~(M2 - 1n)) + M2;
    const second = next + K;
    const write = guestWrite(cpu, aint(second), 1n, 0x5an);
    const map = mapFile(0, next, M2);
    return [{ ...accept, args: { ...accept.args, gpa: aint(next) } }, write, convert(second, K, true), map, hostRead(-1, aint(K))];
  }
  const write = guestWrite(cpu, aint(last), 1n, 0xa5n);
  if (variant === 1) return [accept, write, convert(base, M2 - K), read(last)];
  const punch = punchRange(base, M2);
  const refault: ACall = { op: 'KVM_PRE_FAULT_MEMORY', picks: [cpu], args: { gpa: aint(base), size: aint(M2), flags: aint(0) } };
  return [accept, write, punch, refault];
}

/**
 * A 2 MiB accept after the huge page's history left something for it to
 * undo (designs that map 2 MiB), on the first vCPU, in the second huge
 * page of guest memory (the first one usually holds the setup's 4 KiB
 * leaves, whose S-EPT table rules out a 2 MiB mapping for good). `how` 0:
 * the first 4 MiB of the file (the second huge page's offset in the setup's
 * one-slot and crossed layouts) are made shared, the host maps them and
 * writes the second huge page's sixth page, and they are made private again
 * before the accept; TDG.MEM.PAGE.ACCEPT zeroes every 4 KiB it accepts
 * (tdx.md §3.1), and a page fresh from guest_memfd is zero anyway, so only
 * data left by the shared side shows one it skipped. `how` 1: the sixth page
 * alone is made shared, punched, allocated again (another frame) and made
 * private; the range is then no longer physically contiguous, and must not
 * be mapped at 2 MiB. That one runs in the fifth huge page, which only the
 * setups' 1 GiB files reach, and which the setups' own 2 MiB shapes, in the
 * second, never split (a hole in a 1 GiB folio is refilled page by page,
 * from other frames). The guest reads the sixth page after the accept.
 */
export function acceptAfterHistory(how: number, design: BodyDesign): ACall[] {
  const base = how === 0 ? M2 : 4n * M2;
  const page = base + 5n * K;
  const accept: ACall = { op: 'GUEST_ACCEPT', picks: [0], args: { gpa: aint(base), level: aint(1n) } };
  const convert = (start: bigint, size: bigint, attributes: bigint) => conversion(design.inPlace, aint(start), size, attributes);
  const before = how === 0
    ? [
      convert(0n, 2n * M2, 0n),
      mapFile(0, 0n, 2n * M2),
      hostWrite(-1, aint(page), 0x6dn),
      convert(0n, 2n * M2, ATTR_FLAGS.PRIVATE),
    ]
    : [convert(page, K, 0n), punchRange(page, K), fallocate(false, aint(page), K), convert(page, K, ATTR_FLAGS.PRIVATE)];
  // A FINALIZE first: only a running TD accepts, and a quarter of the setups leave the TD INITIALIZED (a finalized one answers EINVAL and stays as it was).
  return [{ op: 'KVM_TDX_FINALIZE_VM', picks: [0], args: {} }, ...before, accept, guestRead(0, aint(page), 1n)];
}
