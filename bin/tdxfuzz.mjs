#!/usr/bin/env node
// Entry point for `npx tdxfuzz`: run the TypeScript CLI through tsx's loader so
// no build step stands between a fresh clone and a fuzz run.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const here = dirname(fileURLToPath(import.meta.url));
const { main } = await import(join(here, '..', 'src', 'cli', 'main.ts'));
process.exitCode = await main(process.argv.slice(2));
