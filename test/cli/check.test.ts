/**
 * `smtp-cbv check`, in-process through main() and once through the real
 * binary, as a user would run it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

let dir: string;
let bad: string;
let good: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-check-'));
  bad = join(dir, 'bad.siv');
  good = join(dir, 'good.siv');
  // Three independent mistakes: a missing ';' before '}', a stray ',', a missing '}'.
  await writeFile(bad, 'if true {\n  keep\n}\nredirect "a@b.example" ,;\nif false {\n  stop;\n');
  await writeFile(good, 'require ["fileinto"];\nif header :contains "subject" "[spam]" {\n  fileinto "Junk";\n}\n');
});

async function run(...argv: string[]) {
  const io = bufferIO();
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('smtp-cbv check', () => {
  it('prints one FILE:LINE:COL: error: line per mistake and exits 1', async () => {
    const { code, out } = await run('check', bad);
    expect(code).toBe(1);
    expect(out.trimEnd().split('\n')).toEqual([
      `${bad}:3:1: error: expected ';' or '{' after command 'keep', found '}'`,
      `${bad}:4:24: error: expected ';' or '{' after command 'redirect', found ','`,
      `${bad}:7:1: error: expected '}' to close the block opened at 5:10, found end of script`,
    ]);
  });

  it('prints nothing and exits 0 for a valid script', async () => {
    expect(await run('check', good)).toEqual({ code: 0, out: '', err: '' });
  });

  it('checks every script given and reports them all', async () => {
    const { code, out } = await run('check', good, bad, join(dir, 'missing.siv'));
    expect(code).toBe(1);
    expect(out.split('\n').filter(Boolean)).toHaveLength(4);
    expect(out).toContain(`${join(dir, 'missing.siv')}:1:1: error: cannot read the script (ENOENT)`);
  });

  it('loads a configuration with Momentum modules it ignores (warnings, exit 0); --strict makes them errors', async () => {
    const conf = join(dir, 'ecelerity.conf');
    await writeFile(conf, 'Control_Listener {\n  Listen "/tmp/2025" {}\n}\nESMTP_Listener {\n  Listen "127.0.0.1:2525" {}\n}\n');
    const warned = await run('check', '--config', conf);
    expect(warned).toEqual({ code: 0, out: `${conf}:1:1: warning: Momentum's Control_Listener scope is not provided by smtp-cbv: ignored, with everything inside it\n`, err: '' });
    const strict = await run('check', '--strict', '--config', conf);
    expect(strict.code).toBe(1);
    expect(strict.out).toBe(`${conf}:1:1: error: Momentum's Control_Listener scope is not provided by smtp-cbv: ignored, with everything inside it\n`);
  });

  it('prints warnings without failing', async () => {
    const warn = join(dir, 'warn.siv');
    await writeFile(warn, 'keep;\n# no newline');
    const { code, out } = await run('check', warn);
    expect(code).toBe(0);
    expect(out).toBe(`${warn}:2:1: warning: no line break at the end of the hash comment at the end of the script\n`);
  });

  it("refuses Sieve++ with --dialect rfc", async () => {
    const pp = join(dir, 'pp.siv');
    await writeFile(pp, '$x = envelope "from";\n');
    // The momentum dialect parses it (whether it runs is the validator's business).
    expect((await run('check', pp)).out).not.toContain('Sieve++ syntax');
    const { code, out } = await run('check', '--dialect', 'rfc', pp);
    expect(code).toBe(1);
    expect(out).toContain(`${pp}:1:1: error: assignments like '$x' are Sieve++ syntax`);
  });

  it('answers usage errors with exit 64 and help with exit 0', async () => {
    expect((await run('check')).code).toBe(64);
    expect((await run('check', '--dialect', 'klingon', good)).code).toBe(64);
    expect((await run('nosuchcommand')).code).toBe(64);
    const help = await run('check', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: smtp-cbv check');
    expect((await run('--help')).out).toContain('check');
  });

  it('runs as the installed binary', async () => {
    const bin = join(import.meta.dirname, '../../bin/smtp-cbv.js');
    const exec = promisify(execFile);
    const err = await exec(process.execPath, [bin, 'check', bad]).catch((e: { code: number; stdout: string }) => e);
    expect('code' in err && err.code).toBe(1);
    expect(err.stdout.split('\n').filter((l) => l.includes(': error: '))).toHaveLength(3);
    const ok = await exec(process.execPath, [bin, 'check', good]);
    expect(ok.stdout).toBe('');
  });
});

describe('the example scripts', () => {
  it('all compile without a problem', async () => {
    const { readdir } = await import('node:fs/promises');
    const exampleDir = join(import.meta.dirname, '../../examples/sieve');
    const files = (await readdir(exampleDir)).filter((f) => f.endsWith('.siv')).map((f) => join(exampleDir, f));
    expect(files.length).toBeGreaterThan(0);
    expect(await run('check', ...files)).toEqual({ code: 0, out: '', err: '' });
  });
});

describe('smtp-cbv check --config', () => {
  it('passes the example configurations and every script they name', async () => {
    const examples = join(import.meta.dirname, '../../examples');
    expect(await run('check', '--config', join(examples, 'smtp-cbv.conf'))).toEqual({ code: 0, out: '', err: '' });
    expect(await run('check', '--config', join(examples, 'momentum.conf'))).toEqual({ code: 0, out: '', err: '' });
  });

  it('reports config errors and the errors of the scripts it names, each at its own place', async () => {
    const conf = join(dir, 'bad.conf');
    await writeFile(
      conf,
      `smtp_cbv "x" { phase = "mailfrom"\n  timout = 3 }\nsieve "s" {\n  script "mailfrom_phase1" { source = "bad.siv" }\n  script "data_phase1" { source = "nowhere.siv" }\n}\n`,
    );
    const { code, out } = await run('check', '--config', conf);
    expect(code).toBe(1);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${conf}:2:3: error: .*timout.*did you mean 'timeout'`));
    // With an error in the configuration itself, scripts are not compiled.
    expect(lines).toHaveLength(1);
    await writeFile(conf, `sieve "s" {\n  script "mailfrom_phase1" { source = "bad.siv" }\n  script "data_phase1" { source = "nowhere.siv" }\n}\n`);
    const second = await run('check', '--config', conf);
    expect(second.code).toBe(1);
    expect(second.out).toContain(`${bad}:3:1: error: expected ';' or '{' after command 'keep'`);
    expect(second.out).toContain(`${conf}:3:26: error: cannot read the script (ENOENT): ${join(dir, 'nowhere.siv')}`);
  });
});
