// The tdxfuzz command line. Every command returns its exit code; usage
// errors print one line and return 2.

import { Command, CommanderError } from 'commander';
import { UsageError, EXIT_USAGE } from './errors.js';
import { collect } from './options.js';
import { replayCommand } from './replay.js';
import { profilesCommand } from './profiles.js';

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
