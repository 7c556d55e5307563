// The tdxfuzz command line. Every command returns its exit code; usage
// errors print one line and return 2.

import { Command, CommanderError } from 'commander';
import { UsageError, EXIT_USAGE } from './errors.js';
import { collect } from './options.js';
import { replayCommand } from './replay.js';
import { profilesCommand } from './profiles.js';
import { fuzzCommand } from './fuzz.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('tdxfuzz')
    .description('Property-based fuzzing of the KVM/TDX private-memory design')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  program.command('replay')
    .description('run programs on a fresh model and check their expectations and invariants')
    .argument('<files...>', 'program files')
    .option('--profile <name>', 'design profile (overrides the # profile: header)')
    .option('--bug <name>', 'seeded bug to enable (repeatable)', collect, [])
    .option('--json', 'one JSON object per call, then a summary')
    .action((files: string[], o) => { code = replayCommand(files, o, out); });

  program.command('fuzz')
    .description('run generated programs, check invariants after every step, shrink and save any violation')
    .option('--profile <name>', "design profile, a comma list, or 'sound' for every sound profile", 'upstream')
    .option('--bug <name>', 'seeded bug to enable (repeatable)', collect, [])
    .option('--seed <seed>', 'a number or any string (drawn and printed when absent)')
    .option('--runs <n>', 'number of programs')
    .option('--time <seconds>', 'time budget')
    .option('--max-calls <n>', 'calls per program at most', '40')
    .option('--corpus <dir>', 'where found programs are saved', 'corpus/found')
    .option('--json', 'end with one JSON object on stdout')
    .option('--stats', 'print counts of what was generated')
    .option('--workers <n>', 'worker threads on this machine', '1')
    .option('--shard <i/n>', 'run the I-th of N disjoint slices of the program stream')
    .action(async (o) => { code = await fuzzCommand(o, out, (s) => process.stderr.write(`${s}\n`)); });

  program.command('profiles')
    .description('list the design profiles and the seeded bugs')
    .option('--json', 'machine-readable output')
    .action((o) => { code = profilesCommand(o, out); });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof UsageError) {
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
