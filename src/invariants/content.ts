// content-integrity: every host or guest access lands where the oracle says
// it may, and a read returns the byte last written there, unless a zeroing
// event the semantics name came in between (first allocation, punch hole,
// TDG.MEM.PAGE.ACCEPT). The oracle (src/oracle) predicts both from the calls
// alone; this check only compares.

import type { CheckCtx, Invariant, Violation } from './types.js';
import { hex } from './util.js';

const READS = new Set(['HOST_READ', 'GUEST_ACCESS']);

export const contentIntegrity: Invariant = {
  id: 'content-integrity',
  summary: 'Every host or guest access reaches only a page it may reach, and a read returns the byte last written there unless a named zeroing event came between.',
  check(c: CheckCtx) {
    const out: Violation[] = [];
    if (c.ref.broken) out.push({ invariant: this.id, message: `${c.call.op}: the oracle failed: ${c.ref.broken}` });
    const acc = c.ref.now.access;
    if (!acc) return out;
    const vmId = c.ref.now.vmId;
    const b = vmId === undefined ? undefined : c.before.vms.get(vmId);
    if (b && (b.bugged || b.dead)) return out;
    const a = c.call.args;
    const what = c.call.op === 'GUEST_ACCESS' ? `GUEST_ACCESS of GPA ${hex(a.gpa)} (${a.private !== 0n ? 'private' : 'shared'})` : `${c.call.op} at offset ${hex(a.offset)}`;
    const r = c.ret;
    const succeeded = r.kind === 'int' || (r.kind === 'outcome' && r.name === 'OK');
    if (!succeeded) return out;
    if (!acc.reach.ok) {
      out.push({ invariant: this.id, message: `${c.call.op}: ${what} succeeded, but it may reach no page (${acc.reach.why})` });
      return out;
    }
    const isRead = READS.has(c.call.op) && !(c.call.op === 'GUEST_ACCESS' && c.call.args.write !== 0n);
    if (isRead && r.kind === 'int' && Number(r.value) !== acc.before) {
      const p = acc.reach.place;
      const where = p.kind === 'gmem' ? `g${p.gmem} index ${hex(p.index)}` : `anonymous page ${hex(p.page)} of mapping ${p.mapping}`;
      out.push({ invariant: this.id, message: `${c.call.op}: ${what} read ${hex(r.value)} from ${where}, which last held ${hex(acc.before)}` });
    }
    return out;
  },
};
