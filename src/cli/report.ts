// `tdxfuzz report FILE [--html OUT]`: the self-contained HTML bug report.

import { renderReport } from '../report/html.js';
import { writeAtomic } from '../fuzz/save.js';
import { loadProgram } from '../program/load.js';
import { programSetup } from '../replay/replay.js';
import { EXIT_OK } from './errors.js';
import { checkOutputFile } from './outputs.js';

export function reportCommand(file: string, o: { html?: string; profile?: string; bug?: string[] }, out: (s: string) => void): number {
  const dest = o.html ?? file.replace(/\.prog$/, '') + '.html';
  checkOutputFile('--html', dest);
  const p = loadProgram(file);
  const { profile, bugs } = programSetup(p, o);
  const html = renderReport(file, p, { profile, bugs });
  writeAtomic(dest, html);
  out(`report written to ${dest}`);
  return EXIT_OK;
}
