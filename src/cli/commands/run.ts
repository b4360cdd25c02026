/**
 * `smtp-cbv run <script> | --config FILE`: one dry run (src/runner) from
 * the command line, printed like Pigeonhole's sieve-test. No network: CBV
 * answers come from `--cbv ADDR=STATUS[:REPLY]`, DNS from `--dns`. Exit
 * status: 0 when the run had no error, 1 for a compile or runtime error or
 * a call without a stub, 64 for bad usage.
 */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { formatDiagnostic, hasErrors } from '../../diagnostics.js';
import type { DryRunOptions } from '../../runner/dry-run.js';
import { CBV_STATUSES, type CbvStub, type CbvStubs, type DnsStubs } from '../../runner/stubs.js';
import { hasMessage, PHASES, type Phase } from '../../session/phases.js';
import { type CliIO, EXIT } from '../io.js';
import type { ExitCodeSink } from '../main.js';

interface RunFlags {
  config?: string;
  phase?: Phase;
  from: string;
  to: string[];
  message?: string;
  cbv: CbvStubs;
  dns: DnsStubs;
  context: Record<string, string>;
  ip?: string;
  helo?: string;
  tls?: boolean;
  auth?: string;
  cbvPhase?: 'mailfrom' | 'rcptto';
  trace?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function phase(v: string): Phase {
  if (!(PHASES as readonly string[]).includes(v)) throw new InvalidArgumentError(`one of ${PHASES.join(', ')}.`);
  return v as Phase;
}

/** `ADDR=STATUS[:REPLY]`; ADDR `default` (or `*`) answers every other address. */
export function parseCbvFlag(v: string, prev: CbvStubs): CbvStubs {
  const eq = v.lastIndexOf('=', v.indexOf(':') < 0 ? v.length : v.indexOf(':'));
  if (eq <= 0) throw new InvalidArgumentError('ADDR=STATUS[:REPLY], e.g. alice@example.com=fail:"550 5.1.1 no such user".');
  const address = v.slice(0, eq);
  const rest = v.slice(eq + 1);
  const colon = rest.indexOf(':');
  const status = (colon < 0 ? rest : rest.slice(0, colon)) as CbvStub['status'];
  if (!CBV_STATUSES.includes(status)) throw new InvalidArgumentError(`status must be one of ${CBV_STATUSES.join(', ')}.`);
  const stub: CbvStub = colon < 0 ? { status } : { status, reply: rest.slice(colon + 1) };
  return address === 'default' || address === '*' ? { ...prev, default: stub } : { ...prev, addresses: { ...prev.addresses, [address]: stub } };
}

/** `"NAME TYPE=ANSWER[,ANSWER...]"`, e.g. "2.0.0.127.zen.example A=127.0.0.2". */
function parseDnsFlag(v: string, prev: DnsStubs): DnsStubs {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('"NAME TYPE=ANSWER[,ANSWER...]".');
  return { ...prev, [v.slice(0, eq)]: v.slice(eq + 1).split(',').filter((s) => s !== '') };
}

function keyValue(v: string, prev: Record<string, string>): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('KEY=VALUE.');
  return { ...prev, [v.slice(0, eq)]: v.slice(eq + 1) };
}

export function registerRun(program: Command, io: CliIO, exit: ExitCodeSink): void {
  program
    .command('run')
    .description('dry-run a policy script (or a configuration) for one SMTP session: actions, implicit keep and the SMTP reply, no network')
    .argument('[script]', 'a Sieve script, bound to --phase')
    .option('--config <file>', 'run the scripts, listener context and smtp_cbv module of a configuration')
    .option('--phase <phase>', `the phase to run up to (${PHASES.join(', ')}); needed with a script`, phase)
    .option('--from <address>', 'envelope sender ("" for the null sender)', '')
    .option('--to <address>', 'envelope recipient (repeatable)', collect, [])
    .option('--message <file>', 'the message for the data, spool and each_rcpt phases')
    .option('--cbv <ADDR=STATUS[:REPLY]>', 'a CBV stub (repeatable; ADDR "default" for any other address)', parseCbvFlag, {})
    .option('--cbv-phase <phase>', 'with a script: start the automatic smtp_cbv probe at mailfrom or rcptto (a --config uses its smtp_cbv module)', (v: string) => {
      if (v !== 'mailfrom' && v !== 'rcptto') throw new InvalidArgumentError('mailfrom or rcptto.');
      return v;
    })
    .option('--dns <"NAME TYPE=ANSWERS">', 'a DNS stub for ec_dns_lookup (repeatable)', parseDnsFlag, {})
    .option('--context <KEY=VALUE>', 'a connection context value (repeatable)', keyValue, {})
    .option('--ip <address>', 'the client address (default 192.0.2.1)')
    .option('--helo <name>', 'the EHLO argument (default client.example)')
    .option('--tls', 'the session is under TLS')
    .option('--auth <user>', 'the client authenticated as this user')
    .option('--trace', 'print each command and test evaluated, with its line and result')
    .option('--json', 'print the dry-run result as JSON')
    .action(async (script: string | undefined, flags: RunFlags) => {
      if (!script === !flags.config) {
        io.err('smtp-cbv run: give a script or --config, not both and not neither\n');
        exit.code = EXIT.usage;
        return;
      }
      if (script && !flags.phase) {
        io.err('smtp-cbv run: a script needs --phase, the phase it is bound to\n');
        exit.code = EXIT.usage;
        return;
      }
      const options: DryRunOptions = {
        envelope: { from: flags.from.replace(/^<>$/, ''), to: flags.to.length ? flags.to : ['postmaster@localhost'] },
        cbv: flags.cbv,
        dns: flags.dns,
        context: flags.context,
        connection: { ...(flags.ip ? { ip: flags.ip } : {}), ...(flags.helo ? { helo: flags.helo } : {}), ...(flags.tls ? { tls: true } : {}), ...(flags.auth ? { auth: flags.auth } : {}) },
        ...(flags.trace ? { trace: true } : {}),
      };
      if (flags.message) {
        try {
          options.message = await readFile(flags.message);
        } catch (e) {
          io.err(`smtp-cbv run: cannot read the message (${(e as NodeJS.ErrnoException).code ?? e}): ${flags.message}\n`);
          exit.code = EXIT.failure;
          return;
        }
      }
      if (flags.config) {
        const { loadConfig } = await import('../../config/index.js');
        const { config, diagnostics } = await loadConfig(flags.config);
        // Warnings too, as check --config and serve show them: a Datasource without its driver explains a run's "no datasource named".
        for (const d of diagnostics) io.err(`${formatDiagnostic(d, flags.config)}\n`);
        if (!config) {
          exit.code = EXIT.failure;
          return;
        }
        options.config = config;
      } else {
        options.scripts = { [flags.phase!]: { file: script! } };
        if (flags.cbvPhase) options.cbvModule = { enabled: true, phase: flags.cbvPhase };
      }
      // With a script, the session runs up to its phase and shows that phase; with a configuration, every phase run.
      if (flags.phase) options.phases = script ? [flags.phase] : PHASES.slice(0, PHASES.indexOf(flags.phase) + 1);
      if (flags.phase && hasMessage(flags.phase) && !options.message) {
        io.err(`smtp-cbv run: the ${flags.phase} phase needs --message\n`);
        exit.code = EXIT.usage;
        return;
      }
      // Imported here: the other subcommands load no runner.
      const [{ dryRun }, { formatDryRun }] = await Promise.all([import('../../runner/dry-run.js'), import('../../runner/report.js')]);
      const run = await dryRun(options);
      for (const d of run.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
      if (hasErrors(run.diagnostics)) {
        exit.code = EXIT.failure;
        return;
      }
      io.out(flags.json ? `${JSON.stringify(run.phases, null, 2)}\n` : formatDryRun(run, { trace: flags.trace }));
      exit.code = run.phases.some((p) => p.errors.length) ? EXIT.failure : EXIT.ok;
    });
}
