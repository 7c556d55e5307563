// Two ways to run a step generator (the search and the minimiser are both
// written as generators that yield after each unit of work): to the end at
// once, or giving the event loop a turn every 50 ms so that SIGINT/SIGTERM
// handlers run between steps.

export function driveSync<T>(it: Iterator<unknown, T>): T {
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

export async function driveYielding<T>(it: Iterator<unknown, T>): Promise<T> {
  let turn = Date.now();
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    if (Date.now() - turn > 50) {
      await new Promise((res) => setImmediate(res));
      turn = Date.now();
    }
  }
}
