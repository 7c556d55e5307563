// Scale-out on one machine: N worker threads share the shard's program
// stream by index (worker w runs programs w, w+N, ...). Each stops at its own
// first finding; the run's finding is the lowest index found, which is the
// one a single worker would have found, so results do not depend on N.
// A worker runs a synchronous search and cannot hear a stop message, so on
// SIGINT the main thread terminates the workers: a worker posts its finding
// the moment it has one, so terminating loses nothing.

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { searchAsync, type FuzzOptions, type SearchResult } from './engine.js';
import type { WorkerInput } from './worker.js';
import type { Stats } from './stats.js';
import type { Coverage } from './coverage.js';

const workerUrl = new URL('./worker-boot.mjs', import.meta.url);

/** `threads`: run even a single worker in a thread (benchmarks compare like with like). */
export async function searchParallel(o: FuzzOptions, workers: number, threads = false): Promise<SearchResult> {
  if (workers <= 1 && !threads) return searchAsync(o);
  const { stats, coverage, onProgress, stop, ...plain } = o;
  const progress = Array.from({ length: workers }, () => ({ runs: 0, calls: 0, elapsedMs: 0 }));
  const results: SearchResult[] = [];
  const pool: Worker[] = [];
  let stopping = false;
  const poll = setInterval(() => {
    if (stopping || !stop?.(-1)) return;
    stopping = true;
    for (const w of pool) void w.terminate();
  }, 50);
  try {
    await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<void>((resolve, reject) => {
      const input: WorkerInput = { options: plain, first: w, step: workers, stats: stats !== undefined, coverage: coverage !== undefined };
      const worker = new Worker(fileURLToPath(workerUrl), { workerData: input });
      pool.push(worker);
      worker.on('message', (m: { progress?: SearchResult; done?: SearchResult; stats?: ReturnType<Stats['toJSON']>; coverage?: ReturnType<Coverage['toJSON']> }) => {
        if (m.progress) {
          progress[w] = m.progress;
          onProgress?.({
            runs: progress.reduce((a, p) => a + p.runs, 0),
            calls: progress.reduce((a, p) => a + p.calls, 0),
            elapsedMs: Math.max(...progress.map((p) => p.elapsedMs)),
          });
        }
        if (m.done) {
          results[w] = m.done;
          if (m.stats) stats?.merge(m.stats);
          if (m.coverage) coverage?.merge(m.coverage);
          if (m.done.foundAt !== undefined) for (const other of pool) other.postMessage({ stopAfter: m.done.foundAt });
          resolve();
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => (code === 0 || stopping ? resolve() : reject(new Error(`fuzz worker ${w} exited with ${code}`))));
    })));
  } finally {
    clearInterval(poll);
    await Promise.all(pool.map((w) => w.terminate()));
  }
  // A terminated worker counts what it last reported.
  const all = progress.map((p, w) => results[w] ?? { ...p, interrupted: true });
  const found = all.map((r) => r.foundAt).filter((x): x is number => x !== undefined);
  return {
    runs: all.reduce((a, r) => a + r.runs, 0),
    calls: all.reduce((a, r) => a + r.calls, 0),
    elapsedMs: Math.max(...all.map((r) => r.elapsedMs)),
    interrupted: stop?.(-1) ?? false,
    foundAt: found.length > 0 ? Math.min(...found) : undefined,
  };
}
