/**
 * `smtp-cbv check [script...] [--config FILE]`: compile Sieve scripts, and
 * with --config validate a configuration and compile every script it names.
 * Every problem is printed as FILE:LINE:COL: error: MESSAGE. Silent with
 * exit 0 when all is well; exit 1 on any error (warnings alone do not fail,
 * unless --strict makes every warning an error).
 */
import { Command, Option } from 'commander';
import { type Diagnostic, formatDiagnostic, hasErrors } from '../../diagnostics.js';
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
    .option('--strict', 'treat warnings as errors (e.g. Momentum modules and options smtp-cbv ignores)')
    .action(async (scripts: string[], opts: { config?: string; dialect?: Dialect; strict?: boolean }, cmd: Command) => {
      if (!scripts.length && !opts.config) {
        cmd.error('error: give Sieve scripts to check, or --config FILE', { exitCode: EXIT.usage });
      }
      // Imported here, not at the top: every subcommand loads only what it runs (start-up time).
      const [{ compileSieveFile }, { policyCompileOptions }] = await Promise.all([import('../../sievepp/compile.js'), import('../../policy/compile-options.js')]);
      const all: Diagnostic[] = [];
      let dialect: Dialect = opts.dialect ?? 'momentum';
      if (opts.config) {
        const { loadConfig, referencedScripts } = await import('../../config/index.js');
        const { config, diagnostics } = await loadConfig(opts.config);
        all.push(...diagnostics);
        if (config) {
          dialect = opts.dialect ?? config.sieve.dialect;
          // The List scopes (RFC 6134), as serve reads them: redirect :list to a list they lack is an error.
          const { loadExternalLists } = await import('../../policy/external-lists.js');
          const lists = await loadExternalLists(config);
          all.push(...lists.diagnostics);
          const knownList = (name: string) => lists.lists.has(name);
          for (const ref of referencedScripts(config)) {
            const compiled = await compileSieveFile(ref.path, { ...policyCompileOptions(ref.path, { dialect, phase: ref.phase }), knownList });
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
      // --strict: what would load with a warning (ignored Momentum configuration) must be fixed first.
      const shown = opts.strict ? all.map((d) => ({ ...d, severity: 'error' as const })) : all;
      for (const d of shown) io.out(`${formatDiagnostic(d)}\n`);
      exit.code = hasErrors(shown) ? EXIT.failure : EXIT.ok;
    });
}
