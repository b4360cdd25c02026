/**
 * The `smtp-cbv` command line. Each subcommand lives in src/cli/commands/ and
 * registers itself here; `main` returns the exit code instead of exiting, so
 * that tests can run the CLI in-process.
 */
import { Command, CommanderError } from 'commander';
import { type CliIO, EXIT, processIO } from './io.js';

export type ExitCodeSink = { code: number };
export type RegisterCommand = (program: Command, io: CliIO, exit: ExitCodeSink) => void;

/**
 * Every subcommand, in the order `--help` lists them, each loaded only when
 * needed: a run loads the one it names (with what that module imports), so
 * `smtp-cbv check` does not load the server's or the queue's modules
 * (start-up time, docs/architecture.md "Start-up").
 */
const commands: Record<string, () => Promise<RegisterCommand>> = {
  serve: async () => (await import('./commands/serve.js')).registerServe,
  policy: async () => (await import('./commands/policy.js')).registerPolicy,
  milter: async () => (await import('./commands/milter.js')).registerMilter,
  check: async () => (await import('./commands/check.js')).registerCheck,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  test: async () => (await import('./commands/test.js')).registerTest,
  run: async () => (await import('./commands/run.js')).registerRun,
  queue: async () => (await import('./commands/queue.js')).registerQueue,
};

/**
 * The program with the subcommand `argv` names, or with all of them when it
 * names none (`--help`, a mistyped name: commander lists them all or
 * suggests the closest).
 */
export async function buildProgram(io: CliIO, exit: ExitCodeSink, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('smtp-cbv')
    .description('A Sieve-scriptable SMTP policy engine with SMTP Callback Verification')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const named = argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? [argv[0]] : Object.keys(commands);
  for (const register of await Promise.all(named.map((name) => commands[name]!()))) register(program, io, exit);
  // Subcommands inherit the output and exit handling of the program.
  const inherit = (c: Command) => {
    for (const sub of c.commands) {
      sub.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const exit: ExitCodeSink = { code: EXIT.ok };
  const program = await buildProgram(io, exit, argv);
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
