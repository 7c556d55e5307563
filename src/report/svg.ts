// Drawing a snapshot as SVG. Each block (a VM's GFNs, a guest_memfd's
// indices, the PFNs a TD owns) has its own labelled axis, drawn to scale
// except where a gap is far larger than the smallest one: such a gap is cut
// to a fixed width and marked with a break (//), so a 4 KiB page and a 1 GiB
// slot are both visible and nothing pretends to be to scale that is not. The
// failing GFN or PFN is marked in every block whose axis holds it, and every
// colour used is in COLOURS, the one table the legend is drawn from.

import type { Snapshot } from './snapshot.js';

const W = 600;
const LANE = 14;
const LEFT = 92;
const RIGHT = W - 8;
/** A gap more than this many times the smallest one is drawn as a break. */
const BREAK_RATIO = 32;
const BREAK_W = 16;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const hex = (n: number) => `0x${n.toString(16)}`;

/** Every colour a picture uses, with what it means; the legend is this table. */
export const COLOURS = {
  slot: { fill: '#9db6d6', label: 'memslot' },
  private: { fill: '#8a5fbf', label: 'private (attribute)' },
  mirror: { fill: '#3a6fd8', label: 'mirror SPTE' },
  MAPPED: { fill: '#2e9d4f', label: 'S-EPT MAPPED' },
  PENDING: { fill: '#e0b000', label: 'S-EPT PENDING' },
  BLOCKED: { fill: '#b5179e', label: 'S-EPT BLOCKED' },
  PENDING_BLOCKED: { fill: '#f07800', label: 'S-EPT PENDING_BLOCKED' },
  septOther: { fill: '#777777', label: 'S-EPT other state' },
  directPrivate: { fill: '#7fb3ff', label: 'direct SPTE, private' },
  directShared: { fill: '#888888', label: 'direct SPTE, shared' },
  file: { fill: '#dddddd', label: 'guest_memfd file' },
  folio4k: { fill: '#9fd8d4', label: '4 KiB folios' },
  folio2m: { fill: '#38b2ac', label: '2 MiB folios' },
  folio1g: { fill: '#1b7f7a', label: '1 GiB folios' },
  pamtReg: { fill: '#8c564b', label: 'PAMT: guest page of a TD' },
  pamtControl: { fill: '#444444', label: 'PAMT: TD control or S-EPT page' },
} as const;

export const FAIL_COLOUR = '#e00000';
const septColour = (state: string) => (state in COLOURS ? COLOURS[state as 'MAPPED'].fill : COLOURS.septOther.fill);

/** Where the violation happened, to mark on the axes. */
export interface FailPlace {
  gfn?: number;
  pfn?: number;
}

interface Axis {
  x: (v: number) => number;
  /** Pixels per unit on the parts drawn to scale. */
  scale: number;
  breaks: Array<[number, number]>;
  ticks: number[];
  /** Whether [a, b) crosses a break (so its width is not to scale). */
  broken: (a: number, b: number) => boolean;
}

/** A piecewise-linear axis over the boundaries given: to scale, with huge gaps cut short. */
function axis(points: number[]): Axis {
  const ticks = [...new Set(points)].sort((a, b) => a - b);
  const gaps = ticks.slice(1).map((t, i) => t - ticks[i]);
  const smallest = Math.min(...gaps.filter((g) => g > 0), Infinity);
  const isBreak = gaps.map((g) => g > smallest * BREAK_RATIO);
  const linear = gaps.reduce((a, g, i) => a + (isBreak[i] ? 0 : g), 0);
  const room = RIGHT - LEFT - BREAK_W * isBreak.filter(Boolean).length;
  const scale = linear > 0 ? room / linear : 0;
  const pos = [LEFT];
  gaps.forEach((g, i) => pos.push(pos[i] + (isBreak[i] ? BREAK_W : g * scale)));
  const breaks = gaps.flatMap((_, i) => (isBreak[i] ? [[pos[i], pos[i + 1]] as [number, number]] : []));
  const index = (v: number) => {
    let lo = 0;
    let hi = ticks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ticks[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    x: (v) => pos[index(v)] ?? LEFT, scale, breaks, ticks,
    broken: (a, b) => isBreak.some((br, i) => br && ticks[i] >= a && ticks[i + 1] <= b),
  };
}

interface Item { lane: number; start: number; end: number; fill: string; title: string; label?: string }

/** One block: its lanes, its items, its axis with a title and tick labels, and the failing place. */
function lanes(title: string, unit: string, names: string[], items: Item[], y0: number, fail?: number): { svg: string[]; height: number } {
  const a = axis([...items.flatMap((i) => [i.start, i.end]), ...(fail !== undefined ? [fail, fail + 1] : [])]);
  const bottom = y0 + 19 + names.length * LANE;
  const out = [`<g class="block" data-unit="${esc(unit)}" data-scale="${a.scale}">`, `<text x="4" y="${y0 + 12}" class="h">${esc(title)}</text>`];
  names.forEach((n, i) => out.push(`<text x="4" y="${y0 + 28 + i * LANE}" class="l">${esc(n)}</text>`, `<line x1="${LEFT}" x2="${RIGHT}" y1="${y0 + 31 + i * LANE}" y2="${y0 + 31 + i * LANE}" class="g"/>`));
  for (const it of items) {
    const x1 = a.x(it.start);
    const w = Math.max(3, a.x(it.end) - x1);
    const y = y0 + 19 + it.lane * LANE;
    out.push(`<rect class="item" x="${x1.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${LANE - 3}" fill="${it.fill}" data-start="${it.start}" data-end="${it.end}" data-broken="${a.broken(it.start, it.end) ? 1 : 0}"><title>${esc(it.title)}</title></rect>`);
    if (it.label && w > 24) out.push(`<text x="${(x1 + 2).toFixed(1)}" y="${y + 9}" class="t">${esc(it.label)}</text>`);
  }
  // The axis: a line, breaks drawn as //, tick labels where there is room, and its title.
  out.push(`<line x1="${LEFT}" x2="${RIGHT}" y1="${bottom + 2}" y2="${bottom + 2}" class="ax"/>`);
  for (const [b0, b1] of a.breaks) {
    out.push(`<path class="break" d="M${b0 + 3} ${bottom + 7} l4 -10 M${b1 - 7} ${bottom + 7} l4 -10"/>`);
  }
  let lastLabel = -Infinity;
  const ends = new Set([a.ticks[0], a.ticks[a.ticks.length - 1]]);
  for (const t of a.ticks) {
    const x = a.x(t);
    out.push(`<line x1="${x.toFixed(2)}" x2="${x.toFixed(2)}" y1="${bottom}" y2="${bottom + 5}" class="ax"/>`);
    if (x - lastLabel >= 50 || (ends.has(t) && x - lastLabel >= 40)) {
      const anchor = t === a.ticks[a.ticks.length - 1] && a.ticks.length > 1 ? ' style="text-anchor:end"' : t === a.ticks[0] ? ' style="text-anchor:start"' : '';
      out.push(`<text x="${x.toFixed(1)}" y="${bottom + 14}" class="tick"${anchor}>${hex(t)}</text>`);
      lastLabel = x;
    }
  }
  out.push(`<text x="4" y="${bottom + 14}" class="axt">${esc(unit)}</text>`);
  if (fail !== undefined) {
    const x = a.x(fail) + Math.max(1.5, Math.min(a.scale / 2, 6));
    out.push(`<g class="fail-mark"><line x1="${x.toFixed(2)}" x2="${x.toFixed(2)}" y1="${y0 + 16}" y2="${bottom + 4}" stroke="${FAIL_COLOUR}" stroke-width="2" stroke-dasharray="3 2"/>`,
      `<text x="${RIGHT}" y="${y0 + 12}" class="fl" style="text-anchor:end">failing ${esc(unit)} ${hex(fail)} (dashed line)</text></g>`);
  }
  out.push('</g>');
  return { svg: out, height: 24 + names.length * LANE + 16 };
}

/** The snapshot as SVG; `rows` receives every item's text so the page can show it without hovering. */
export function drawSnapshot(s: Snapshot, caption: string, fail: FailPlace = {}, rows: string[] = []): string {
  const parts: string[] = [];
  let y = 22;
  let items = 0;
  const take = (block: string, its: Item[]) => {
    items += its.length;
    for (const it of its) rows.push(`${block}: ${it.title}`);
  };
  for (const vm of s.vms.slice(0, 2)) {
    const its: Item[] = [
      ...vm.slots.map((sl) => ({ lane: 0, start: sl.start, end: sl.end, fill: COLOURS.slot.fill, title: `slot ${sl.id}: GFN [${hex(sl.start)}, ${hex(sl.end)})${sl.gmemId !== null ? ` -> g${sl.gmemId} index ${hex(sl.pgoff)}` : ''}`, label: `slot ${sl.id}` })),
      ...vm.privateRanges.map(([a, b]) => ({ lane: 1, start: a, end: b, fill: COLOURS.private.fill, title: `private GFN [${hex(a)}, ${hex(b)})` })),
      ...vm.mirror.map((l) => ({ lane: 2, start: l.gfn, end: l.gfn + l.pages, fill: COLOURS.mirror.fill, title: `mirror GFN ${hex(l.gfn)} -> PFN ${hex(l.pfn)} (${l.pages === 1 ? '4K' : '2M'})`, label: l.pages > 1 ? '2M' : undefined })),
      ...vm.sept.map((l) => ({ lane: 3, start: l.gfn, end: l.gfn + l.pages, fill: septColour(l.state), title: `S-EPT GFN ${hex(l.gfn)} ${l.state} PFN ${hex(l.pfn)} (${l.pages === 1 ? '4K' : '2M'})`, label: l.pages > 1 ? '2M' : undefined })),
      ...vm.direct.map((l) => ({ lane: 4, start: l.gfn, end: l.gfn + l.pages, fill: l.private ? COLOURS.directPrivate.fill : COLOURS.directShared.fill, title: `${l.private ? 'private' : 'shared'} SPTE GFN ${hex(l.gfn)} -> PFN ${hex(l.pfn)}` })),
    ];
    const name = `vm${vm.id}`;
    take(name, its);
    const r = lanes(`${name} ${vm.type}${vm.tdState ? ` ${vm.tdState}` : ''}${vm.bugged ? ' BUGGED' : ''}`, 'GFN', ['memslots', 'private', 'mirror', 'S-EPT', 'direct'], its, y, fail.gfn);
    parts.push(...r.svg);
    y += r.height + 4;
  }
  for (const g of s.gmems.slice(0, 2)) {
    const its: Item[] = [
      { lane: 0, start: 0, end: g.sizePages, fill: COLOURS.file.fill, title: `g${g.id}: ${hex(g.sizePages)} pages${g.released ? ' (released)' : ''}` },
      ...g.runs.map((r) => ({ lane: 1, start: r.start, end: r.end, fill: r.order >= 18 ? COLOURS.folio1g.fill : r.order >= 9 ? COLOURS.folio2m.fill : COLOURS.folio4k.fill, title: `index [${hex(r.start)}, ${hex(r.end)}) -> PFN ${hex(r.pfn)}, ${r.order ? `${r.order === 9 ? '2M' : '1G'} folios` : '4K folios'}`, label: r.order ? (r.order === 9 ? '2M' : '1G') : undefined })),
      ...g.privateRanges.map(([a, b]) => ({ lane: 2, start: a, end: b, fill: COLOURS.private.fill, title: `private index [${hex(a)}, ${hex(b)})` })),
    ];
    take(`g${g.id}`, its);
    const r = lanes(`g${g.id} of vm${g.vmId}`, 'guest_memfd index', ['file', 'folios', 'private'], its, y);
    parts.push(...r.svg);
    y += r.height + 4;
  }
  if (s.pamt.length) {
    const its: Item[] = s.pamt.map((p) => ({ lane: 0, start: p.pfn, end: p.pfn + 1, fill: p.type === 'PT_REG' ? COLOURS.pamtReg.fill : COLOURS.pamtControl.fill, title: `PFN ${hex(p.pfn)}: ${p.type}, TD ${p.owner}` }));
    take('PAMT', its);
    const r = lanes('PFNs owned by a TD (PAMT)', 'PFN', ['owner'], its, y, fail.pfn);
    parts.push(...r.svg);
    y += r.height + 4;
  }
  if (s.truncated) parts.push(`<text x="4" y="${y + 10}" class="l">(more items than a picture holds; the first of each lane are drawn)</text>`);
  const height = y + 18;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="mem" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" data-items="${items}">`,
    '<style>.h{font:bold 11px sans-serif}.l{font:10px sans-serif;fill:#444}.t{font:9px sans-serif;fill:#fff}.g{stroke:#eee}.c{font:bold 12px sans-serif}',
    `.ax{stroke:#666}.break{stroke:#000;stroke-width:1.5;fill:none}.tick{font:8px monospace;fill:#333;text-anchor:middle}.axt{font:italic 9px sans-serif;fill:#333}.fl{font:bold 9px sans-serif;fill:${FAIL_COLOUR}}</style>`,
    `<text x="4" y="14" class="c">${esc(caption)}</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

/** The legend: every colour of COLOURS with its meaning, the failing mark and the axis break. */
export function legend(): string {
  const swatches = Object.values(COLOURS).map((c) => `<span class="sw"><i style="background:${c.fill}" data-fill="${c.fill}"></i>${esc(c.label)}</span>`);
  return `<div class="key">${swatches.join('')}<span class="sw"><i style="background:${FAIL_COLOUR}"></i>failing GFN/PFN (dashed line)</span><span class="sw"><b>//</b> axis break: a gap drawn shorter than to scale</span></div>`;
}

/** The GFN and PFN a violation message names, to mark on the axes. */
export function failPlace(message: string | undefined): FailPlace {
  if (!message) return {};
  const num = (re: RegExp) => {
    const m = re.exec(message);
    return m ? parseInt(m[1], 16) : undefined;
  };
  const gpa = num(/\bGPA (0x[0-9a-f]+)/);
  return { gfn: num(/\bGFN (0x[0-9a-f]+)/) ?? (gpa !== undefined ? Math.floor(gpa / 4096) : undefined), pfn: num(/\bPFN (0x[0-9a-f]+)/) };
}
