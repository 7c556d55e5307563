// --workers for the kernel target: N worker threads share the program stream
// by index, each running its programs through its own executor processes.
// The run's finding is the lowest index found, as with the model fuzzer, so
// the result does not depend on N.

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { kernelSearch, type KernelFuzzOptions, type KernelSearchResult } from './fuzz.js';
import type { KernelWorkerInput } from './worker.js';

const workerUrl = new URL('./worker-boot.mjs', import.meta.url);

export async function kernelSearchParallel(o: KernelFuzzOptions, workers: number): Promise<KernelSearchResult> {
  if (workers <= 1 || o.target.inProcess) return kernelSearch(o);
  const { stop, onProgress, ...options } = o;
  void onProgress;
  const shared = new Int32Array(new SharedArrayBuffer(8));
  shared[0] = -1;
  const poll = setInterval(() => { if (stop?.()) Atomics.store(shared, 1, 1); }, 50);
  const pool: Worker[] = [];
  try {
    const results = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<KernelSearchResult>((resolve, reject) => {
      const input: KernelWorkerInput = { options, first: w, step: workers, shared };
      const worker = new Worker(fileURLToPath(workerUrl), { workerData: input });
      pool.push(worker);
      worker.on('message', (m: { done: KernelSearchResult }) => resolve(m.done));
      worker.on('error', reject);
      worker.on('exit', (code) => { if (code !== 0) reject(new Error(`kernel fuzz worker ${w} exited with ${code}`)); });
    })));
    const found = results.map((r) => r.foundAt).filter((x): x is number => x !== undefined);
    const sum = (f: (r: KernelSearchResult) => number) => results.reduce((a, r) => a + f(r), 0);
    return {
      runs: sum((r) => r.runs), calls: sum((r) => r.calls), skipped: sum((r) => r.skipped), violations: sum((r) => r.violations),
      kernelMs: sum((r) => r.kernelMs), elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
      foundAt: found.length ? Math.min(...found) : undefined,
    };
  } finally {
    clearInterval(poll);
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
