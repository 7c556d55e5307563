// Messages and the report use the program's handle names (vm0, g0), never
// the model's own object numbers (issue 10, defect 8).

import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseProgram } from '../../src/program/parser.js';
import { renderReport } from '../../src/report/html.js';
import { readFileSync } from 'node:fs';
import { runMain } from './inproc.js';

const root = join(import.meta.dirname, '..', '..');
const file = join(root, 'corpus', 'found', 'no-dangling-sept-6d5b771a.prog');

describe('handle names', () => {
  test('replay names the VM as the program does', async () => {
    const r = await runMain('replay', file);
    expect(r.stdout).toMatch(/! no-dangling-sept: .* while vm0 mirror GFN/);
    expect(r.stdout).not.toMatch(/\bvm1\b/);
    const j = await runMain('replay', file, '--json');
    expect(j.stdout).toContain('while vm0 mirror GFN');
  });

  test('the report says g0 of vm0', () => {
    const r = parseProgram(readFileSync(file, 'utf8'), file);
    if (!r.ok) throw new Error('parse');
    const html = renderReport(file, r.program, { profile: 'upstream', bugs: ['punch-frees-before-zap'] });
    expect(html).toContain('g0 of vm0');
    expect(html).not.toMatch(/\b(vm[1-9]|g[1-9])\b/);
  });
});
