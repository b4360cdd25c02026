/**
 * `smtp-cbv check [script...] [--config FILE]`: compile Sieve scripts, and
 * with --config validate a configuration and compile every script it names.
 * Every problem is printed as FILE:LINE:COL: error: MESSAGE. Silent with
 * exit 0 when all is well; exit 1 on any error (warnings alone do not fail).
 */
import { Command, Option } from 'commander';
import { loadConfig, referencedScripts } from '../../config/index.js';
import { type Diagnostic, formatDiagnostic, hasErrors } from '../../diagnostics.js';
import { compileSieveFile } from '../../sievepp/compile.js';
import { policyCompileOptions } from '../../policy/compile-options.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

type Dialect = 'momentum' | 'rfc';

export function registerCheck(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('check')
    .description('compile Sieve scripts (and with --config, validate a configuration and every script it names)')
    .argument('[script...]', 'Sieve script files')
    .option('-c, --config <file>', 'an ecelerity.conf-style configuration file')
    .addOption(new Option('--dialect <dialect>', 'the Sieve dialect (default: the config\'s, else momentum)').choices(['momentum', 'rfc']))
    .action(async (scripts: string[], opts: { config?: string; dialect?: Dialect }, cmd: Command) => {
      if (!scripts.length && !opts.config) {
        cmd.error('error: give Sieve scripts to check, or --config FILE', { exitCode: EXIT.usage });
      }
      const all: Diagnostic[] = [];
      let dialect: Dialect = opts.dialect ?? 'momentum';
      if (opts.config) {
        const { config, diagnostics } = await loadConfig(opts.config);
        all.push(...diagnostics);
        if (config) {
          dialect = opts.dialect ?? config.sieve.dialect;
          for (const ref of referencedScripts(config)) {
            const compiled = await compileSieveFile(ref.path, policyCompileOptions(ref.path, { dialect, phase: ref.phase }));
            // A script the config names but that cannot be read is the config's problem: point at the reference.
            all.push(
              ...compiled.diagnostics.map((d) =>
                d.message.startsWith('cannot read the script')
                  ? { ...d, file: ref.declaredAt.file, line: ref.declaredAt.line, column: ref.declaredAt.column, message: `${d.message}: ${ref.path}` }
                  : d,
              ),
            );
          }
        }
      }
      for (const file of scripts) all.push(...(await compileSieveFile(file, policyCompileOptions(file, { dialect }))).diagnostics);
      for (const d of all) io.out(`${formatDiagnostic(d)}\n`);
      exit.code = hasErrors(all) ? EXIT.failure : EXIT.ok;
    });
}
