// The progress line: runs, calls per second, elapsed, time left and
// violations, redrawn in place on a terminal and never written otherwise.

export interface ProgressState {
  runs: number;
  calls: number;
  elapsedMs: number;
  violations: number;
}

export class Progress {
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream, private readonly budgetMs?: number) {}

  update(s: ProgressState): void {
    if (!this.stream.isTTY) return;
    const cps = Math.round(s.calls / Math.max(0.001, s.elapsedMs / 1000));
    const left = this.budgetMs !== undefined ? ` | ${Math.max(0, (this.budgetMs - s.elapsedMs) / 1000).toFixed(0)}s left` : '';
    this.stream.write(`\r\x1b[2K${s.runs} programs | ${cps} calls/s | ${(s.elapsedMs / 1000).toFixed(1)}s${left} | ${s.violations} violations`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
