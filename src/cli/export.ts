// `tdxfuzz export FILE --format c|selftest [--out FILE]`.

import { exportProgram, type ExportFormat } from '../export/c.js';
import { writeAtomic } from '../fuzz/save.js';
import { loadProgram } from './load.js';
import { replayProgram } from './replay.js';
import { EXIT_OK, UsageError } from './errors.js';
import { checkOutputFile } from './outputs.js';

export function exportCommand(file: string, o: { format?: string; out?: string; profile?: string; bug?: string[] }, out: (s: string) => void): number {
  const format = o.format ?? 'c';
  if (format !== 'c' && format !== 'selftest') throw new UsageError(`--format expects c or selftest, got '${format}'`);
  if (o.out) checkOutputFile('--out', o.out);
  const p = loadProgram(file);
  const r = replayProgram(p, o);
  const text = exportProgram(p, format as ExportFormat, r.report.steps.map((s) => s.result));
  if (o.out) {
    writeAtomic(o.out, text);
    out(`${file}: ${p.calls.length} calls exported as ${format} to ${o.out}`);
  } else out(text.trimEnd());
  return EXIT_OK;
}
