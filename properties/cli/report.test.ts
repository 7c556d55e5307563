// The HTML report renders in a real browser: headless Chromium (Debian's
// package, driven by playwright-core) must show both SVG pictures with every
// element the snapshot holds. A screenshot is kept as a test artifact.

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { chromium } from 'playwright-core';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tdxfuzz.mjs');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = join(root, 'reports', 'test-artifacts');
// CI installs Chromium (.ci/run); a developer machine without it skips, loudly.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing in CI: .ci/run should have installed it`);

describe.skipIf(!haveChromium)('tdxfuzz report in headless Chromium', () => {
  test('both pictures render with every element, and the violation is named', async () => {
    mkdirSync(artifacts, { recursive: true });
    const prog = readdirSync(join(root, 'corpus', 'found')).find((f) => f.startsWith('removal-order'))!;
    const html = join(artifacts, 'report.html');
    const r = spawnSync(process.execPath, [bin, 'report', join(root, 'corpus', 'found', prog), '--html', html], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
      await page.goto(`file://${html}`);
      const svgs = page.locator('svg.mem');
      expect(await svgs.count()).toBe(2);
      const declared = await page.evaluate(() => [...document.querySelectorAll('svg.mem')].map((s) => Number(s.getAttribute('data-items'))));
      expect(declared.every((n) => n > 0)).toBe(true);
      expect(await page.locator('svg.mem rect.item').count()).toBe(declared[0] + declared[1]);
      const box = await svgs.first().boundingBox();
      expect(box!.width).toBeGreaterThan(400);
      expect(await page.locator('.inv').innerText()).toContain('removal-order');
      expect(await page.locator('tr.fail').count()).toBe(1);
      // Readable without scrolling: a short program fits one screen.
      expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(900);
      await page.screenshot({ path: join(artifacts, 'report.png') });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
