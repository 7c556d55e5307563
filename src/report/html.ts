// The bug report: one self-contained HTML page for a program, with each
// call's result and SEAMCALLs, the violated invariant with its line in
// invariants.md, and the memory at the failing step and the step before.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printCall, printResult } from '../program/printer.js';
import { header, type Program } from '../program/types.js';
import { newRunWorld, runStep, type RunOptions, type StepReport } from '../fuzz/runner.js';
import { snapshot, type Snapshot } from './snapshot.js';
import { drawSnapshot, failPlace, legend } from './svg.js';
import { ObjectNames, type Renamer } from './names.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const INVARIANTS_MD = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'docs', 'invariants.md');

/** The line of invariants.md that defines `id`, as "docs/invariants.md:N: text". */
export function invariantLine(id: string): string {
  const lines = readFileSync(INVARIANTS_MD, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith(`| \`${id}\` |`));
  return i < 0 ? `(${id} is not in invariants.md)` : `docs/invariants.md:${i + 1}: ${lines[i].split('|')[2].trim()}`;
}

export interface ReportData {
  steps: StepReport[];
  snapshots: Snapshot[];
  failing: number;
  /** Model object names (vm3) to the program's (vm0). */
  rename: Renamer;
}

/** Run the program, keeping a snapshot after every step. */
export function collect(p: Program, opts: RunOptions): ReportData {
  const w = newRunWorld(opts);
  const names = new Map<string, { value: number }>();
  const steps: StepReport[] = [];
  const snapshots: Snapshot[] = [snapshot(w)];
  const objects = new ObjectNames();
  for (let i = 0; i < p.calls.length; i++) {
    const s = runStep(w, p.calls[i], i, names, opts, i === p.calls.length - 1);
    objects.note(w, p.calls[i].bind, s.result.handle);
    steps.push(s);
    snapshots.push(snapshot(w));
  }
  const failing = steps.findIndex((s) => s.violations.length > 0);
  return { steps, snapshots, failing, rename: objects.rename };
}

function seamcalls(s: StepReport): string {
  if (s.seamcalls.length === 0) return '';
  const names = s.seamcalls.map((c) => `${c.name.replace('TDH.', '')}${c.status === 'TDX_SUCCESS' ? '' : `=${c.status.replace('TDX_', '')}`}`);
  return names.length > 6 ? `${names.slice(0, 5).join(' ')} … (${names.length})` : names.join(' ');
}

export function renderReport(file: string, p: Program, opts: RunOptions): string {
  const d = collect(p, opts);
  const at = d.failing >= 0 ? d.failing : d.steps.length - 1;
  const v = d.failing >= 0 ? d.steps[d.failing].violations[0] : undefined;
  const rows = d.steps.map((s) => {
    const cls = s.index === d.failing ? ' class="fail"' : '';
    const mism = s.call.expect && printResult(s.call.expect) !== printResult(s.result) ? ` <span class="mm">expected ${esc(printResult(s.call.expect))}</span>` : '';
    return `<tr${cls}><td>${s.index}</td><td><code>${esc(printCall({ ...s.call, expect: undefined }))}</code></td><td><code>${esc(printResult(s.result))}</code>${mism}</td><td class="sc">${esc(seamcalls(s))}</td></tr>`;
  });
  const title = v ? `${v.invariant} in ${file}` : `${file}: no violation`;
  const place = failPlace(v?.message);
  // Every item of the state at the failing step, as text: nothing needs a hover.
  const items: string[] = [];
  const before = d.rename(drawSnapshot(d.snapshots[at], at > 0 ? `before call ${at}` : 'initial state', place));
  const after = d.rename(drawSnapshot(d.snapshots[at + 1], `after call ${at}${v ? ' (failing step)' : ''}`, place, items));
  const marked = (r: string) => (place.gfn !== undefined && r.includes(`GFN 0x${place.gfn.toString(16)}`)) || (place.pfn !== undefined && r.includes(`PFN 0x${place.pfn.toString(16)}`));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:13px/1.35 system-ui,sans-serif;margin:12px 16px;color:#222}
h1{font-size:17px;margin:0 0 4px}.meta{color:#555;margin-bottom:6px}
.inv{background:#fff3f3;border-left:4px solid #d33;padding:6px 10px;margin:6px 0}
table{border-collapse:collapse;font-size:12px}td{padding:1px 6px;vertical-align:top;border-bottom:1px solid #eee}
tr.fail{background:#ffe2e2}code{font:11.5px ui-monospace,monospace}.sc{color:#666;font-size:11px}.mm{color:#d33}
.wrap{display:flex;gap:18px;align-items:flex-start}.pics{display:flex;gap:8px;flex-wrap:wrap}
.key{max-width:1220px;font-size:11px;margin-top:4px}.key .sw{display:inline-block;margin:0 10px 2px 0;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:middle;border:1px solid #0003}
.details{font:11px ui-monospace,monospace;max-height:80px;overflow:auto;border:1px solid #ddd;padding:3px 6px;margin-top:4px;columns:2;max-width:1220px}.details .hit{color:#e00000;font-weight:bold}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="meta">profile <b>${esc(opts.profile)}</b>, bugs <b>${esc(opts.bugs.join(',') || 'none')}</b>${header(p, 'found') ? `, found ${esc(header(p, 'found')!)}` : ''}</div>
${v ? `<div class="inv"><b>${esc(v.invariant)}</b> at call ${d.failing}: ${esc(d.rename(v.message))}<br><small>${esc(invariantLine(v.invariant))}</small></div>` : ''}
<div class="wrap">
<table><tr><th>#</th><th>call</th><th>result</th><th>SEAMCALLs</th></tr>
${rows.join('\n')}
</table>
<div>
<div class="pics">
${before}
${after}
</div>
${legend()}
<div class="details" title="the state after call ${at}">${items.map((r) => `<div${marked(r) ? ' class="hit"' : ''}>${esc(d.rename(r))}</div>`).join('')}</div>
</div></div>
</body></html>
`;
}
