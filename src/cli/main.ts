// The tdxfuzz command line. Every command returns its exit code; usage
// errors print one line and return 2.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { UsageError, EXIT_USAGE } from './errors.js';
import { WriteFailure } from '../fuzz/save.js';
import { collect } from './options.js';
import { replayCommand } from './replay.js';
import { profilesCommand } from './profiles.js';
import { fuzzCommand } from './fuzz.js';
import { kernelInfoCommand } from './kernel_info.js';
import { nightlyCommand } from './nightly.js';
import { diffCommand } from './diff.js';
import { exportCommand } from './export.js';
import { reportCommand } from './report.js';
import { corpusCheckCommand, corpusMergeCommand, shrinkCommand } from './corpus.js';

// A closed pipe (`tdxfuzz fuzz | head`) silences stdout but must not stop a
// run before it saves its finding.
let stdoutGone = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  stdoutGone = true;
});
const out = (s: string) => { if (!stdoutGone) process.stdout.write(`${s}\n`); };
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('tdxfuzz')
    .description('Property-based fuzzing of the KVM/TDX private-memory design')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false)
    .version(VERSION, '--version', 'print the version');

  program.command('replay')
    .description('run programs on a fresh model and check their expectations and invariants')
    .argument('<files...>', "program files ('-' reads standard input)")
    .option('--profile <name>', 'design profile (overrides the # profile: header)')
    .option('--bug <name>', 'seeded bug to enable (repeatable)', collect, [])
    .option('--json', 'one JSON object per call, then a summary')
    .option('--target <model|kernel>', 'kernel: run on /dev/kvm beside the model and report the first divergence', 'model')
    .option('--executor <cmd>', 'shell command that starts the KVM executor (e.g. through ssh on a TDX host)')
    .action((files: string[], o) => { code = replayCommand(files, o, out); });

  program.command('fuzz')
    .description('run generated programs, check invariants after every step, shrink and save any violation')
    .option('--profile <name>', "design profile, a comma list, or 'sound' for every sound profile (default: upstream, or the profile of the --bug given)")
    .option('--bug <name>', 'seeded bug to enable (repeatable)', collect, [])
    .option('--want <invariant>', 'count only violations of this invariant and fuzz past others (repeatable)', collect, [])
    .option('--seed <seed>', 'a number or any string (drawn and printed when absent)')
    .option('--runs <n>', 'number of programs')
    .option('--time <seconds>', 'time budget')
    .option('--max-calls <n>', 'calls per program at most', '40')
    .option('--corpus <dir>', 'where found programs are saved', 'corpus/found')
    .option('--json', 'end with one JSON object on stdout')
    .option('--stats', 'print counts of what was generated')
    .option('--coverage', 'print the (call, result) pairs, S-EPT and TD transitions reached, and invariant activity')
    .option('--workers <n>', 'worker threads on this machine', '1')
    .option('--shard <i/n>', 'run the I-th of N disjoint slices of the program stream')
    .option('--target <model|kernel>', 'kernel: run every program on /dev/kvm too; a divergence is a finding', 'model')
    .option('--executor <cmd>', 'shell command that starts the KVM executor (e.g. through ssh on a TDX host)')
    .action(async (o) => { code = await fuzzCommand(o, out, (s) => process.stderr.write(`${s}\n`)); });

  const corpus = program.command('corpus').description('check and merge program corpora');
  corpus.command('check')
    .description('replay spec programs against their expectations and found programs against their invariant and the sound model')
    .argument('[dirs...]', 'corpus directories (default: corpus/spec corpus/found)')
    .action((dirs: string[]) => { code = corpusCheckCommand(dirs, out); });
  corpus.command('merge')
    .description('merge found corpora (e.g. from CI shards), one program per signature')
    .argument('<dirs...>', 'directories to merge')
    .option('--into <dir>', 'destination', 'corpus/found')
    .action((dirs: string[], o) => { code = corpusMergeCommand(dirs, o, out); });

  program.command('shrink')
    .description('minimise a program that violates an invariant')
    .argument('<file>', 'program file')
    .option('--out <file>', 'write the shrunk program here instead of stdout')
    .option('--profile <name>', 'design profile (overrides the # profile: header)')
    .option('--bug <name>', 'seeded bug to enable (repeatable)', collect, [])
    .action((file: string, o) => { code = shrinkCommand(file, o, out); });

  program.command('nightly')
    .description('the nightly job: fuzz the sound profiles with a dated seed, hunt every seeded bug, write summary.md and junit.xml')
    .option('--time <seconds>', 'fuzzing budget, split over the profiles', '60')
    .option('--seed <seed>', 'seed (default nightly-YYYY-MM-DD)')
    .option('--profile <name>', "profile, comma list or 'sound'", 'sound')
    .option('--shard <i/n>', 'the slice of the program stream this job runs')
    .option('--workers <n>', 'worker threads', '1')
    .option('--bug-runs <n>', 'programs allowed to find each seeded bug', '5000')
    .option('--no-bugs', 'skip the seeded-bug hunt')
    .option('--no-fuzz', 'only hunt the seeded bugs')
    .option('--out <dir>', 'report directory', 'reports/nightly')
    .action(async (o) => { code = await nightlyCommand(o, out); });

  program.command('diff')
    .description('find the shortest program on which two designs answer differently')
    .option('--a <profile>', 'first design')
    .option('--b <profile>', 'second design')
    .option('--seed <seed>', 'a number or any string')
    .option('--time <seconds>', 'time budget')
    .option('--runs <n>', 'programs to try (default 2000)')
    .option('--max-calls <n>', 'calls per program at most', '40')
    .option('--json', 'one JSON object on stdout')
    .option('--out <file>', 'save the shrunk program, pinned to the --a design')
    .action((o) => { code = diffCommand(o, out, (s) => process.stderr.write(`${s}\n`)); });

  program.command('export')
    .description('export a program as a C reproducer or a KVM selftest that checks each result against the model')
    .argument('<file>', 'program file')
    .option('--format <c|selftest>', 'output form', 'c')
    .option('--out <file>', 'write here instead of stdout')
    .option('--profile <name>', 'design profile for the expected results (overrides the # profile: header)')
    .option('--bug <name>', "seeded bug (repeatable; 'none' for no bugs)", collect, [])
    .option('--pin <sound|flawed>', "pin what the sound design returns (default), or the finding's flawed answers", 'sound')
    .action((file: string, o) => { code = exportCommand(file, o, out); });

  program.command('report')
    .description('write a self-contained HTML report: results, SEAMCALLs, the violation, and the memory before and at the failing step')
    .argument('<file>', 'program file')
    .option('--html <out>', 'output file (default: beside the program, .html)')
    .option('--profile <name>', 'design profile (overrides the # profile: header)')
    .option('--bug <name>', 'seeded bug (repeatable)', collect, [])
    .action((file: string, o) => { code = reportCommand(file, o, out); });

  program.command('kernel-info')
    .description('probe the running kernel through the KVM executor and print the derived kernel profile settings')
    .option('--executor <cmd>', 'shell command that starts the KVM executor')
    .option('--json', 'machine-readable output')
    .action((o) => { code = kernelInfoCommand(o, out); });

  program.command('profiles')
    .description('list the design profiles and the seeded bugs')
    .option('--json', 'machine-readable output')
    .action((o) => { code = profilesCommand(o, out); });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof UsageError || e instanceof WriteFailure) {
      process.stderr.write(`tdxfuzz: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return 0;
      return EXIT_USAGE;
    }
    throw e;
  }
  return code;
}
