/** `smtp-cbv policy --config FILE [--listen HOST:PORT]`: a Postfix SMTP access policy service (docs/postfix.md). */
import { besideCommand } from './beside.js';

export const registerPolicy = besideCommand('policy', 'run as a Postfix policy service (check_policy_service)');
