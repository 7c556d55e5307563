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
      // Labelled axes: every block has its axis title and at least two tick labels.
      const blocks = await page.evaluate(() => [...document.querySelectorAll('svg.mem g.block')].map((g) => ({
        unit: g.getAttribute('data-unit'), title: g.querySelector('.axt')?.textContent, ticks: g.querySelectorAll('.tick').length,
      })));
      expect(blocks.length).toBeGreaterThanOrEqual(4);
      for (const b of blocks) {
        expect(b.title).toBe(b.unit);
        expect(b.ticks).toBeGreaterThanOrEqual(2);
      }
      expect(blocks.map((b) => b.unit)).toEqual(expect.arrayContaining(['GFN', 'PFN', 'guest_memfd index']));
      // To scale, except across a marked break: width = size x the block's scale.
      const geometry = await page.evaluate(() => [...document.querySelectorAll('svg.mem rect.item')].map((r) => ({
        w: (r as SVGGraphicsElement).getBBox().width, size: Number(r.getAttribute('data-end')) - Number(r.getAttribute('data-start')),
        broken: r.getAttribute('data-broken') === '1', scale: Number(r.closest('g.block')!.getAttribute('data-scale')),
      })));
      const scaled = geometry.filter((g) => !g.broken && g.size * g.scale >= 3);
      expect(scaled.length).toBeGreaterThan(0);
      for (const g of scaled) expect(Math.abs(g.w - g.size * g.scale)).toBeLessThan(0.5);
      // The failing place is marked in both pictures, and named.
      const marks = await page.locator('svg.mem .fail-mark').allInnerTexts();
      expect(marks.length).toBeGreaterThanOrEqual(2);
      expect(await page.locator('svg.mem .fail-mark text').first().textContent()).toMatch(/failing GFN 0x0\b/);
      // Details are on the page, not only in hover titles; the failing leaf stands out.
      const details = page.locator('.details');
      expect(await details.isVisible()).toBe(true);
      expect(await details.innerText()).toMatch(/S-EPT GFN 0x0 \w+ PFN 0x[0-9a-f]+/);
      expect(await page.locator('.details .hit').count()).toBeGreaterThan(0);
      // A complete legend with distinct colours: every fill drawn is in it; PAMT owner differs from MAPPED.
      const fills = await page.evaluate(() => [...new Set([...document.querySelectorAll('svg.mem rect.item')].map((r) => r.getAttribute('fill')))]);
      const keyed = await page.evaluate(() => [...document.querySelectorAll('.key i[data-fill]')].map((i) => i.getAttribute('data-fill')));
      expect(new Set(keyed).size).toBe(keyed.length);
      for (const f of fills) expect(keyed).toContain(f);
      const legendText = await page.locator('.key').innerText();
      expect(legendText).toMatch(/S-EPT MAPPED/);
      expect(legendText).toMatch(/PAMT: guest page of a TD/);
      expect(legendText).toMatch(/axis break/);
      // Readable without scrolling: a short program fits one screen.
      expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThanOrEqual(900);
      await page.screenshot({ path: join(artifacts, 'report.png') });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
