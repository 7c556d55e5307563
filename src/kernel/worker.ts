// A kernel fuzz worker thread: runs every `step`-th program from `first`
// (each in its own executor process) and reports its first finding. The
// shared array holds the lowest finding index of any worker and a stop flag,
// read synchronously between programs.

import { parentPort, workerData } from 'node:worker_threads';
import { kernelSearch, type KernelFuzzOptions } from './fuzz.js';

export interface KernelWorkerInput {
  options: Omit<KernelFuzzOptions, 'stop' | 'onProgress'>;
  first: number;
  step: number;
  /** [0]: lowest finding index so far (or -1), [1]: 1 when interrupted. */
  shared: Int32Array;
}

const input = workerData as KernelWorkerInput;
const s = input.shared;
const r = kernelSearch(input.options, input.first, input.step, (i) => Atomics.load(s, 1) === 1 || (Atomics.load(s, 0) >= 0 && i > Atomics.load(s, 0)));
if (r.foundAt !== undefined) {
  // Keep the lowest index: compare-and-swap until ours is stored or a lower one is.
  for (let cur = Atomics.load(s, 0); cur < 0 || r.foundAt < cur; cur = Atomics.load(s, 0)) {
    if (Atomics.compareExchange(s, 0, cur, r.foundAt) === cur) break;
  }
}
parentPort!.postMessage({ done: r });
