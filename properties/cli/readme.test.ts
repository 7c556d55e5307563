// The README and docs/ as a user meets them: every relative link resolves
// to a file inside the repository, the quick start is exactly two command
// lines, and every example is what the command prints today
// (scripts/readme-examples.ts regenerates them; timings may differ).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { examples, normalise, run } from '../../scripts/readme-examples.js';

const root = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown links [text](target), without those in code spans or blocks. */
function links(md: string): string[] {
  const prose = md.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

describe('documentation', () => {
  test.each(docs)('every relative link in %s resolves inside the repository', (file) => {
    const found = links(readFileSync(join(root, file), 'utf8')).filter((l) => !/^[a-z]+:/.test(l) && !l.startsWith('#'));
    for (const l of found) {
      const target = resolve(dirname(join(root, file)), l.split('#')[0]);
      expect(relative(root, target).startsWith('..'), `${file}: ${l} points outside the repository`).toBe(false);
      expect(existsSync(target), `${file}: ${l} does not exist`).toBe(true);
    }
  });

  test('README and docs never point at the shared specs outside the repository', () => {
    for (const f of docs) expect(readFileSync(join(root, f), 'utf8'), f).not.toMatch(/\.\.\/shared|\.\.\/seeds|\/work\//);
  });

  test('the quick start is exactly the two command lines', () => {
    const quick = /## Quick start\n\n```\n([\s\S]*?)```/.exec(readme)![1];
    expect(quick.trim().split('\n')).toEqual(['npm ci && npm run fuzz', 'npm ci && npm test']);
  });

  test('the README says what gcc and Chromium are for and how .ci/run gets them', () => {
    expect(readme).toMatch(/\| gcc \| the export tests/);
    expect(readme).toMatch(/\| Chromium .*\| the report test/);
    expect(readme).toMatch(/`\.ci\/run`.*installs gcc and Debian's `chromium`/s);
  });

  const ex = examples(readme);
  test('the README has examples to check', () => {
    expect(ex.length).toBeGreaterThanOrEqual(5);
  });
  test.each(ex.map((e) => [e.spec, e]))('README example `tdxfuzz %s` is what it prints today', (_s, e) => {
    expect(normalise(e.current), 'run `npx tsx scripts/readme-examples.ts` to regenerate').toBe(normalise(run(e.spec)));
  }, 120_000);
});
