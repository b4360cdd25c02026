/**
 * The process logger: pino, one structured JSON line per event. Level and
 * pretty output come from the configuration, overridden by the environment
 * (LOG_LEVEL, LOG_PRETTY=1) so an operator can turn on debug for one run.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LogSettings {
  level?: string;
  pretty?: boolean;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function createLogger(settings: LogSettings = {}, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.LOG_LEVEL && LEVELS.has(env.LOG_LEVEL) ? env.LOG_LEVEL : (settings.level ?? 'info');
  const wantPretty = env.LOG_PRETTY !== undefined ? env.LOG_PRETTY === '1' || env.LOG_PRETTY === 'true' : (settings.pretty ?? false);
  const options = { level, base: { name: 'smtp-cbv' } };
  // pino-pretty as a synchronous stream, not a worker-thread transport: log
  // lines written just before a shutdown must not be lost.
  return wantPretty ? pino(options, pretty({ sync: true, singleLine: true, translateTime: 'SYS:standard', ignore: 'pid,hostname,name' })) : pino(options);
}
