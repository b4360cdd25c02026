/**
 * `smtp-cbv verify <address>`: one callback verification from the command
 * line, with the engine the server uses. Exit status: 0 pass, 1 fail or
 * error, 75 transient (EX_TEMPFAIL, so a shell loop can retry), 64 usage.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isNullAddress, parseAddress } from '../../cbv/address.js';
import type { Verdict } from '../../cbv/types.js';
import { EXIT, type CliIO } from '../io.js';
import type { ExitCodeSink } from '../main.js';

interface VerifyFlags {
  sender?: string;
  dnsServer: string[];
  port?: number;
  allowTarget: string[];
  helo?: string;
  timeout?: number;
  json?: boolean;
  transcript?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port is an integer from 1 to 65535.');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number of seconds.');
  return n;
}

/** The CIDR parser, imported before verify's options are parsed (registerVerify), and only for verify. */
let guard: typeof import('../../cbv/guard.js') | undefined;

function cidr(value: string, previous: string[]): string[] {
  try {
    guard!.parseCidrs([value]);
  } catch {
    throw new InvalidArgumentError('an address or CIDR, e.g. 127.0.0.0/8 or ::1/128.');
  }
  return [...previous, value];
}

function dnsServer(value: string, previous: string[]): string[] {
  if (!/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+)(:\d{1,5})?$/.test(value)) {
    throw new InvalidArgumentError('HOST or HOST:PORT with an IP address, e.g. 127.0.0.1:5353 or [::1]:53.');
  }
  return collect(value, previous);
}

function address(value: string): string {
  if (isNullAddress(value) || !parseAddress(value)) throw new InvalidArgumentError('an address, local@domain.');
  return value;
}

function sender(value: string): string {
  if (!isNullAddress(value) && !parseAddress(value)) throw new InvalidArgumentError("an address, or '' for the null sender.");
  return value;
}

const EXIT_BY_STATUS: Record<Verdict['status'], number> = {
  pass: EXIT.ok,
  fail: EXIT.failure,
  error: EXIT.failure,
  transient: EXIT.tempfail,
};

function humanLine(v: Verdict): string {
  const where = v.host ? ` ${v.host}${v.ip ? ` [${v.ip}]` : ''}` : '';
  const reply = v.reply ? `: ${v.reply}` : v.message !== v.reason ? `: ${v.message}` : '';
  return `${v.status} ${v.address} (${v.reason} at ${v.stage}${where}${v.cached ? ', cached' : ''}, ${v.durationMs} ms)${reply}\n`;
}

export function registerVerify(program: Command, io: CliIO, exit: ExitCodeSink): void {
  // Commander runs this before the subcommand parses its options, so that
  // the --allow-target parser has ipaddr.js without other commands loading it.
  program.hook('preSubcommand', async (_program, sub) => {
    if (sub.name() === 'verify') guard ??= await import('../../cbv/guard.js');
  });
  program
    .command('verify')
    .description('probe the MX hosts of an address up to RCPT TO (never DATA) and print the verdict')
    .argument('<address>', 'the address to verify, e.g. alice@example.com', address)
    .option('--sender <addr>', "MAIL FROM of the probe ('' for the null sender <>, the default)", sender)
    .option('--dns-server <host:port>', 'DNS server to ask instead of the system resolver (repeatable)', dnsServer, [])
    .option('--port <n>', 'SMTP port of the remote', port)
    .option('--allow-target <cidr>', 'let probes reach this non-public range, e.g. 127.0.0.0/8 (repeatable)', cidr, [])
    .option('--helo <name>', 'EHLO/HELO name (default: this host name)')
    .option('--timeout <seconds>', 'overall deadline of the check', seconds)
    .option('--json', 'print one JSON object')
    .option('--transcript', 'print the SMTP dialogue')
    .action(async (address: string, flags: VerifyFlags) => {
      // Imported here: the other subcommands load no CBV engine.
      const { createCbvEngine } = await import('../../cbv/index.js');
      const engine = createCbvEngine({
        dnsServers: flags.dnsServer.length ? flags.dnsServer : undefined,
        port: flags.port,
        allowTargets: flags.allowTarget,
        helo: flags.helo,
        timeout: flags.timeout,
        mailFrom: flags.sender,
      });
      const v = await engine.verify(address);
      if (flags.json) {
        const out = {
          status: v.status,
          result: v.result,
          stage: v.stage,
          reason: v.reason,
          host: v.host ?? null,
          ip: v.ip ?? null,
          reply: v.reply ?? null,
          message: v.message,
          cached: v.cached,
          durationMs: v.durationMs,
          ...(flags.transcript ? { transcript: v.transcript } : {}),
        };
        io.out(`${JSON.stringify(out)}\n`);
      } else {
        io.out(humanLine(v));
        if (flags.transcript) {
          for (const l of v.transcript) io.out(`${String(l.t).padStart(5)} ${l.dir} ${l.text}\n`);
        }
      }
      exit.code = EXIT_BY_STATUS[v.status];
    });
}
