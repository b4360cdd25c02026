/**
 * `smtp-cbv check <script...>`: compile Sieve scripts and print every
 * problem as FILE:LINE:COL: error: MESSAGE. Silent and exit 0 when all is
 * well, exit 1 when any script has an error (warnings alone do not fail).
 */
import { Command, Option } from 'commander';
import { type Diagnostic, formatDiagnostic, hasErrors } from '../../diagnostics.js';
import { compileSieveFile } from '../../sieve/compile.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

export function registerCheck(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('check')
    .description('compile Sieve scripts and report every error and warning with its position')
    .argument('<script...>', 'Sieve script files')
    .addOption(new Option('--dialect <dialect>', 'the Sieve dialect').choices(['momentum', 'rfc']).default('momentum'))
    .action(async (scripts: string[], opts: { dialect: 'momentum' | 'rfc' }) => {
      const all: Diagnostic[] = [];
      for (const file of scripts) {
        const { diagnostics } = await compileSieveFile(file, { dialect: opts.dialect });
        all.push(...diagnostics);
      }
      for (const d of all) io.out(`${formatDiagnostic(d)}\n`);
      exit.code = hasErrors(all) ? EXIT.failure : EXIT.ok;
    });
}
