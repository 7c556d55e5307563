// Builds the C executor on first use with the system C compiler into a cache
// directory keyed by a hash of its sources and the uAPI prelude, so an edit
// rebuilds it and an unchanged tree reuses the binary.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UAPI_PRELUDE } from '../export/uapi_h.js';

export const EXECUTOR_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../executor');
const SOURCES = ['executor.c', 'ops.c', 'host.c'];
const CFLAGS = ['-O1', '-Wall', '-Wno-unused-function', '-std=gnu11'];

export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg ? join(xdg, 'tdxfuzz') : resolve(EXECUTOR_DIR, '../node_modules/.cache/tdxfuzz');
}

/** Every file the binary depends on, in a stable order. */
function inputs(): Array<[string, string]> {
  const files = readdirSync(EXECUTOR_DIR).filter((f) => /\.[ch]$/.test(f)).sort();
  return [...files.map((f): [string, string] => [f, readFileSync(join(EXECUTOR_DIR, f), 'utf8')]), ['tdxfuzz_uapi.h', UAPI_PRELUDE]];
}

export function executorHash(): string {
  const h = createHash('sha256');
  for (const [name, text] of inputs()) h.update(`${name}\0${text}\0`);
  h.update(CFLAGS.join(' '));
  return h.digest('hex').slice(0, 16);
}

export class BuildError extends Error {}

/** The path of a built executor, compiling it when the cache has none for these sources. */
export function buildExecutor(cc = process.env.CC ?? 'cc'): string {
  const hash = executorHash();
  const dir = join(cacheDir(), `executor-${hash}`);
  const bin = join(dir, 'tdxfuzz-executor');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tdxfuzz_uapi.h'), UAPI_PRELUDE);
  const tmp = `${bin}.tmp-${process.pid}-${Date.now()}`;
  try {
    execFileSync(cc, [...CFLAGS, '-I', dir, '-o', tmp, ...SOURCES.map((s) => join(EXECUTOR_DIR, s))], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e);
    throw new BuildError(`building the executor with '${cc}' failed: ${stderr.split('\n').slice(0, 5).join(' | ')}`);
  }
  // Rename last: a concurrent build of the same sources just wins the race.
  renameSync(tmp, bin);
  return bin;
}
