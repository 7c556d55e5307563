// Drawing a snapshot as SVG. Axes are ordinal (every boundary that matters
// gets its own tick), so a 4 KiB page and a 1 TiB slot are both visible.

import type { Snapshot } from './snapshot.js';

const W = 600;
const LANE = 18;
const LEFT = 92;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const hex = (n: number) => `0x${n.toString(16)}`;

export const STATE_COLOURS: Record<string, string> = {
  MAPPED: '#2e9d4f', PENDING: '#e0b000', BLOCKED: '#d33', PENDING_BLOCKED: '#f07800',
};

/** An ordinal axis over the boundaries given, from LEFT to W. */
function axis(points: number[]): (x: number) => number {
  const ticks = [...new Set(points)].sort((a, b) => a - b);
  const step = ticks.length > 1 ? (W - LEFT - 8) / (ticks.length - 1) : 0;
  return (x: number) => {
    let lo = 0;
    let hi = ticks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ticks[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return LEFT + lo * step;
  };
}

interface Item { lane: number; start: number; end: number; fill: string; title: string; label?: string }

function lanes(title: string, names: string[], items: Item[], y0: number): { svg: string[]; height: number } {
  const x = axis(items.flatMap((i) => [i.start, i.end]));
  const out = [`<text x="4" y="${y0 + 12}" class="h">${esc(title)}</text>`];
  names.forEach((n, i) => out.push(`<text x="4" y="${y0 + 30 + i * LANE}" class="l">${esc(n)}</text>`, `<line x1="${LEFT}" x2="${W - 8}" y1="${y0 + 32 + i * LANE}" y2="${y0 + 32 + i * LANE}" class="g"/>`));
  for (const it of items) {
    const x1 = x(it.start);
    const w = Math.max(3, x(it.end) - x1);
    const y = y0 + 19 + it.lane * LANE;
    out.push(`<rect class="item" x="${x1.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LANE - 4}" fill="${it.fill}"><title>${esc(it.title)}</title></rect>`);
    if (it.label && w > 24) out.push(`<text x="${(x1 + 2).toFixed(1)}" y="${y + 11}" class="t">${esc(it.label)}</text>`);
  }
  return { svg: out, height: 26 + names.length * LANE };
}

export function drawSnapshot(s: Snapshot, caption: string): string {
  const parts: string[] = [];
  let y = 22;
  let items = 0;
  for (const vm of s.vms.slice(0, 2)) {
    const its: Item[] = [
      ...vm.slots.map((sl) => ({ lane: 0, start: sl.start, end: sl.end, fill: '#9db6d6', title: `slot ${sl.id}: GFN [${hex(sl.start)}, ${hex(sl.end)})${sl.gmemId !== null ? ` -> g${sl.gmemId} index ${hex(sl.pgoff)}` : ''}`, label: `slot ${sl.id}` })),
      ...vm.privateRanges.map(([a, b]) => ({ lane: 1, start: a, end: b, fill: '#8a5fbf', title: `private GFN [${hex(a)}, ${hex(b)})` })),
      ...vm.mirror.map((l) => ({ lane: 2, start: l.gfn, end: l.gfn + l.pages, fill: '#3a6fd8', title: `mirror GFN ${hex(l.gfn)} -> PFN ${hex(l.pfn)} (${l.pages === 1 ? '4K' : '2M'})`, label: l.pages > 1 ? '2M' : undefined })),
      ...vm.sept.map((l) => ({ lane: 3, start: l.gfn, end: l.gfn + l.pages, fill: STATE_COLOURS[l.state] ?? '#777', title: `S-EPT GFN ${hex(l.gfn)} ${l.state} PFN ${hex(l.pfn)} (${l.pages === 1 ? '4K' : '2M'})`, label: l.pages > 1 ? '2M' : undefined })),
      ...vm.direct.map((l) => ({ lane: 4, start: l.gfn, end: l.gfn + l.pages, fill: l.private ? '#3a6fd8' : '#888', title: `${l.private ? 'private' : 'shared'} SPTE GFN ${hex(l.gfn)} -> PFN ${hex(l.pfn)}` })),
    ];
    items += its.length;
    const r = lanes(`vm${vm.id} ${vm.type}${vm.tdState ? ` ${vm.tdState}` : ''}${vm.bugged ? ' BUGGED' : ''} — GFNs`, ['memslots', 'private', 'mirror', 'S-EPT', 'direct'], its, y);
    parts.push(...r.svg);
    y += r.height + 8;
  }
  for (const g of s.gmems.slice(0, 2)) {
    const its: Item[] = [
      { lane: 0, start: 0, end: g.sizePages, fill: '#ddd', title: `g${g.id}: ${hex(g.sizePages)} pages${g.released ? ' (released)' : ''}` },
      ...g.runs.map((r) => ({ lane: 1, start: r.start, end: r.end, fill: r.order >= 18 ? '#1b7f7a' : r.order >= 9 ? '#38b2ac' : '#9fd8d4', title: `index [${hex(r.start)}, ${hex(r.end)}) -> PFN ${hex(r.pfn)}, ${r.order ? `${r.order === 9 ? '2M' : '1G'} folios` : '4K folios'}`, label: r.order ? (r.order === 9 ? '2M' : '1G') : undefined })),
      ...g.privateRanges.map(([a, b]) => ({ lane: 2, start: a, end: b, fill: '#8a5fbf', title: `private index [${hex(a)}, ${hex(b)})` })),
    ];
    items += its.length;
    const r = lanes(`g${g.id} of vm${g.vmId} — indices`, ['file', 'folios', 'private'], its, y);
    parts.push(...r.svg);
    y += r.height + 8;
  }
  if (s.pamt.length) {
    const its: Item[] = s.pamt.map((p) => ({ lane: 0, start: p.pfn, end: p.pfn + 1, fill: p.type === 'PT_REG' ? '#2e9d4f' : '#555', title: `PFN ${hex(p.pfn)}: ${p.type}, TD ${p.owner}` }));
    items += its.length;
    const r = lanes('PFNs owned by a TD (PAMT)', ['owner'], its, y);
    parts.push(...r.svg);
    y += r.height + 8;
  }
  if (s.truncated) parts.push(`<text x="4" y="${y + 10}" class="l">(more items than a picture holds; the first of each lane are drawn)</text>`);
  const height = y + 18;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="mem" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" data-items="${items}">`,
    '<style>.h{font:bold 11px sans-serif}.l{font:10px sans-serif;fill:#444}.t{font:9px sans-serif;fill:#fff}.g{stroke:#eee}.c{font:bold 12px sans-serif}</style>',
    `<text x="4" y="14" class="c">${esc(caption)}</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
