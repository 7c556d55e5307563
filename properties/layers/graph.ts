// The import graph of src/: every source file (.ts and .mjs) and the files
// it imports, type-only imports included. Shared by the layer tests.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const root = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mjs)$/.test(f) ? [p] : [];
  });
}

/** Every module specifier a file names: static imports and re-exports (type-only included), side-effect and dynamic imports. */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?[^;'"]*?\s+from\s+['"]([^'"]+)['"]/gms)) out.push(m[1]);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

/** The file a relative specifier names: `./x.js` is written for `./x.ts`. */
function resolveSpecifier(from: string, spec: string): string {
  const p = resolve(dirname(from), spec);
  if (p.endsWith('.js') && existsSync(p.replace(/\.js$/, '.ts'))) return p.replace(/\.js$/, '.ts');
  return p;
}

export type Graph = Map<string, string[]>;

/** One cycle of the graph as a path that ends where it starts, or null when there is none. */
export function findCycle(graph: Graph): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 'open');
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') return [...path.slice(path.indexOf(d)), d];
      if (state.get(d) === undefined) {
        const c = visit(d);
        if (c) return c;
      }
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    if (state.get(n) !== undefined) continue;
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

export const files = sourceFiles(root);

export function importGraph(): { graph: Graph; unresolved: string[] } {
  const graph: Graph = new Map();
  const unresolved: string[] = [];
  for (const f of files) {
    const deps: string[] = [];
    for (const s of specifiers(readFileSync(f, 'utf8'))) {
      if (!s.startsWith('.')) continue;
      const target = resolveSpecifier(f, s);
      if (!existsSync(target)) unresolved.push(`${relative(root, f)} imports ${s}`);
      else deps.push(target);
    }
    graph.set(f, deps);
  }
  return { graph, unresolved };
}

/** The relative imports of one file of src/, as paths relative to src/. */
export function importsOf(file: string): string[] {
  const abs = join(root, file);
  return specifiers(readFileSync(abs, 'utf8')).filter((s) => s.startsWith('.')).map((s) => relative(root, resolveSpecifier(abs, s)));
}
