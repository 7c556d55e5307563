// Nothing about folios or guest_memfd is reachable from the SEAMCALL layer:
// src/model/tdx/ may import only units, phys, errno, interval maps over frame
// numbers and its own files.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', 'src', 'model', 'tdx');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

describe('src/model/tdx is PFN-only', () => {
  test('it has files to check', () => expect(files.length).toBeGreaterThan(3));
  test.each(files)('%s imports nothing of host, gmem, kvm or mmu and never says folio', (f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    const imports = [...text.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
    // faults.js: the module's own seeded-bug fault points (it imports only a type).
    for (const i of imports) {
      expect(i, `${f} imports ${i}`).toMatch(/^(\.\/[\w-]+\.js|\.\.\/(units|phys|errno|faults|intervals)\.js|node:crypto)$/);
    }
    expect(text.toLowerCase()).not.toContain('folio');
  });
});
