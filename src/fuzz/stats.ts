// fc.statistics-style counts of what the fuzzer generated and reached: calls
// per op, results per op, and how many programs built a TD.

import { resultText } from '../model/result.js';
import type { RunReport } from './runner.js';

export class Stats {
  readonly ops = new Map<string, number>();
  readonly results = new Map<string, number>();
  programs = 0;
  tds = 0;
  finalized = 0;

  record(r: RunReport): void {
    this.programs++;
    let td = false;
    let fin = false;
    for (const s of r.steps) {
      this.ops.set(s.call.op, (this.ops.get(s.call.op) ?? 0) + 1);
      const key = `${s.call.op} -> ${resultText(s.result)}`;
      this.results.set(key, (this.results.get(key) ?? 0) + 1);
      if (s.call.op === 'KVM_TDX_INIT_VM' && s.result.kind === 'int') td = true;
      if (s.call.op === 'KVM_TDX_FINALIZE_VM' && s.result.kind === 'int') fin = true;
    }
    if (td) this.tds++;
    if (fin) this.finalized++;
  }

  toJSON() {
    return { ops: [...this.ops], results: [...this.results], programs: this.programs, tds: this.tds, finalized: this.finalized };
  }

  merge(o: ReturnType<Stats['toJSON']>): void {
    for (const [k, n] of o.ops) this.ops.set(k, (this.ops.get(k) ?? 0) + n);
    for (const [k, n] of o.results) this.results.set(k, (this.results.get(k) ?? 0) + n);
    this.programs += o.programs;
    this.tds += o.tds;
    this.finalized += o.finalized;
  }

  lines(): string[] {
    const pct = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`;
    const total = [...this.ops.values()].reduce((a, b) => a + b, 0);
    const out = [`programs: ${this.programs}, with an initialized TD: ${pct(this.tds, this.programs)}, finalized: ${pct(this.finalized, this.programs)}`, 'calls by op:'];
    for (const [op, n] of [...this.ops].sort((a, b) => b[1] - a[1])) out.push(`  ${op.padEnd(28)} ${pct(n, total).padStart(6)}  (${n})`);
    out.push('results by op:');
    for (const [k, n] of [...this.results].sort((a, b) => a[0].localeCompare(b[0]))) out.push(`  ${k.padEnd(48)} ${n}`);
    return out;
  }
}
