/**
 * ec_log_file (sieve-ref-ec-log-file.md): the text plus a line break,
 * appended to a file through the host (MomentumHost.appendLog, which the
 * server points at files it may write). Without that host callback the
 * line goes to the host's log, naming the file, so nothing is lost.
 */
import { argString, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';

const logFile: SieveFunction = {
  name: 'ec_log_file',
  uses: { command: true },
  params: [
    { name: 'file uri', type: 'string' },
    { name: 'text', type: 'string' },
  ],
  call(b, rt) {
    const file = argString(b, rt, 0)!;
    const text = argString(b, rt, 1)!;
    const host = hostOf(rt);
    if (host.appendLog) host.appendLog(file, text);
    else host.log?.('info', `ec_log_file ${file}: ${text}`);
    rt.log.push(text);
  },
};

export const loggingFunctions: SieveFunction[] = [logFile];
