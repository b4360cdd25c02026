/** `smtp-cbv milter --config FILE [--listen HOST:PORT]`: a milter for Postfix or Sendmail (docs/postfix.md). */
import { besideCommand } from './beside.js';

export const registerMilter = besideCommand('milter', 'run as a milter (Postfix smtpd_milters, Sendmail INPUT_MAIL_FILTER)');
