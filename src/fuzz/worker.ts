// A fuzz worker thread: runs every `step`-th program of the shard from
// `first`, and reports progress and its first finding to the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { search, type FuzzOptions } from './engine.js';
import { Stats } from './stats.js';
import { Coverage } from './coverage.js';

export interface WorkerInput {
  options: Omit<FuzzOptions, 'stats' | 'onProgress' | 'stop'>;
  first: number;
  step: number;
  stats: boolean;
  coverage: boolean;
}

const input = workerData as WorkerInput;
let stopped = false;
let stopAfter = Infinity;
parentPort!.on('message', (m: { stop?: boolean; stopAfter?: number }) => {
  if (m.stop) stopped = true;
  if (m.stopAfter !== undefined) stopAfter = Math.min(stopAfter, m.stopAfter);
});
const stats = input.stats ? new Stats() : undefined;
const coverage = input.coverage ? new Coverage() : undefined;
const r = search({
  ...input.options,
  stats,
  coverage,
  // A program past a finding another worker already made cannot matter.
  stop: (i) => stopped || i > stopAfter,
  onProgress: (p) => parentPort!.postMessage({ progress: p }),
}, input.first, input.step);
parentPort!.postMessage({ done: { ...r, interrupted: stopped && r.interrupted }, stats: stats?.toJSON(), coverage: coverage?.toJSON() });
