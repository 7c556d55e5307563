#!/usr/bin/env node
// The model stand-in for the KVM executor (src/kernel/model_executor.ts), for
// testing the kernel target where /dev/kvm is missing:
//   tdxfuzz replay F --target kernel --executor 'node executor/model-executor.mjs [--bug NAME]'
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

register();
const here = dirname(fileURLToPath(import.meta.url));
const { standInMain } = await import(join(here, '..', 'src', 'kernel', 'model_executor.ts'));
await standInMain(process.argv.slice(2));
