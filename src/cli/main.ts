/**
 * The `smtp-cbv` command line. Each subcommand lives in src/cli/commands/ and
 * registers itself here; `main` returns the exit code instead of exiting, so
 * that tests can run the CLI in-process.
 */
import { Command, CommanderError } from 'commander';
import { type CliIO, EXIT, processIO } from './io.js';
import { registerCheck } from './commands/check.js';
import { registerVerify } from './commands/verify.js';
import { registerTest } from './commands/test.js';
import { registerServe } from './commands/serve.js';
import { registerRun } from './commands/run.js';
import { registerPolicy } from './commands/policy.js';
import { registerMilter } from './commands/milter.js';

export type ExitCodeSink = { code: number };
export type RegisterCommand = (program: Command, io: CliIO, exit: ExitCodeSink) => void;

/** Every subcommand, in the order `--help` lists them. */
const commands: RegisterCommand[] = [registerServe, registerPolicy, registerMilter, registerCheck, registerVerify, registerTest, registerRun];

export function buildProgram(io: CliIO, exit: ExitCodeSink): Command {
  const program = new Command('smtp-cbv')
    .description('A Sieve-scriptable SMTP policy engine with SMTP Callback Verification')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const register of commands) register(program, io, exit);
  // Subcommands inherit the output and exit handling of the program.
  for (const sub of program.commands) sub.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  return program;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const exit: ExitCodeSink = { code: EXIT.ok };
  const program = buildProgram(io, exit);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exit code 0; bad usage with 64 (EX_USAGE).
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.err(`smtp-cbv: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failure;
  }
  return exit.code;
}
