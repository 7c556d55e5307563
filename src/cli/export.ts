// `tdxfuzz export FILE --format c|selftest [--pin sound|flawed] [--out FILE]`.

import { exportProgram, type ExportFormat } from '../export/c.js';
import { exportPins, type PinChoice } from '../export/pins.js';
import { writeAtomic } from '../fuzz/save.js';
import { loadProgram } from '../program/load.js';
import { programSetup } from '../replay/replay.js';
import { EXIT_OK, UsageError } from './errors.js';
import { checkOutputFile } from './outputs.js';

export function exportCommand(file: string, o: { format?: string; out?: string; profile?: string; bug?: string[]; pin?: string }, out: (s: string) => void): number {
  const format = o.format ?? 'c';
  if (format !== 'c' && format !== 'selftest') throw new UsageError(`--format expects c or selftest, got '${format}'`);
  const pin = o.pin ?? 'sound';
  if (pin !== 'sound' && pin !== 'flawed') throw new UsageError(`--pin expects sound or flawed, got '${pin}'`);
  if (o.out) checkOutputFile('--out', o.out);
  const p = loadProgram(file);
  const design = programSetup(p, o);
  const { results, pins } = exportPins(p, design, pin as PinChoice);
  const text = exportProgram(p, format as ExportFormat, results, pins);
  if (o.out) {
    writeAtomic(o.out, text);
    out(`${file}: ${p.calls.length} calls exported as ${format} to ${o.out}, pinning ${pins.pinned}`);
  } else out(text.trimEnd());
  return EXIT_OK;
}
