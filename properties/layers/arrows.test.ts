// Arrows the layers must not draw (issue 13, item 2): the model is
// self-contained, so it never reads the program format; KVM code sits below
// the ioctl ladders, so kvm/ never calls back up into uapi/; and the command
// line is the top, so nothing below it (the corpus checks included) imports it.

import { relative, sep } from 'node:path';
import { describe, expect, test } from 'vitest';
import { files, importsOf, root } from './graph.js';

const rel = files.map((f) => relative(root, f).split(sep).join('/'));
const under = (dir: string) => (f: string) => f.startsWith(`${dir}/`);

/** Each rule: the files it covers and the imports it forbids them. */
const RULES: Array<{ name: string; from: (f: string) => boolean; forbidden: (target: string) => boolean }> = [
  { name: 'src/model imports only src/model', from: under('model'), forbidden: (t) => !under('model')(t) },
  { name: 'src/model/kvm imports nothing of src/model/uapi', from: under('model/kvm'), forbidden: under('model/uapi') },
  { name: 'nothing outside src/cli imports src/cli', from: (f) => !under('cli')(f), forbidden: under('cli') },
];

describe('layers draw no forbidden arrow', () => {
  test('every rule covers files', () => {
    for (const r of RULES) expect(rel.filter(r.from).length, r.name).toBeGreaterThan(3);
  });
  test('a rule sees a forbidden import', () => {
    // uapi/guest.ts calls down into kvm/access.ts; the arrow back up is what the rule forbids.
    expect(importsOf('model/uapi/guest.ts')).toContain('model/kvm/access.ts');
    expect(RULES[1].forbidden('model/uapi/guest.ts')).toBe(true);
    expect(RULES[0].forbidden('program/calls.ts')).toBe(true);
  });
  test.each(RULES.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const bad = rel.filter(r.from).flatMap((f) => importsOf(f).map((t) => t.split(sep).join('/')).filter(r.forbidden).map((t) => `${f} -> ${t}`));
    expect(bad).toEqual([]);
  });
});
