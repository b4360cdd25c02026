/**
 * Every extension the interpreter knows, in one array: it serves `require`,
 * validation and dispatch (through ExtensionRegistry). Add an extension
 * here and nowhere else.
 */
import type { Extension } from '../registry.js';
import { body } from './body.js';
import { comparatorAsciiCasemap, comparatorAsciiNumeric, comparatorOctet, comparatorUnicodeCasemap } from './comparators.js';
import { copy } from './copy.js';
import { core } from './core.js';
import { date } from './date.js';
import { debug } from './debug.js';
import { envelopeDeliverby, redirectDeliverby } from './deliverby.js';
import { duplicate } from './duplicate.js';
import { editheader } from './editheader.js';
import { encloseExt } from './enclose.js';
import { encodedCharacter } from './encoded-character.js';
import { enotify } from './enotify.js';
import { envelope } from './envelope.js';
import { environment, vndDovecotEnvironment } from './environment.js';
import { extlists } from './extlists.js';
import { fileinto } from './fileinto.js';
import { ihave } from './ihave.js';
import { imap4flags } from './imap4flags.js';
import { include } from './include.js';
import { index } from './index-ext.js';
import { mailbox } from './mailbox.js';
import { mboxmetadata, servermetadata } from './metadata.js';
import { extracttext, foreverypart, mime } from './mime.js';
import { ereject, reject } from './reject.js';
import { regex } from './regex.js';
import { relational } from './relational.js';
import { replace } from './replace.js';
import { spamtest, spamtestplus, virustest } from './spamvirustest.js';
import { specialUse } from './special-use.js';
import { subaddress } from './subaddress.js';
import { vacation, vacationSeconds } from './vacation.js';
import { variables } from './variables.js';

export const extensions: readonly Extension[] = [
  core,
  comparatorOctet,
  comparatorAsciiCasemap,
  comparatorAsciiNumeric,
  comparatorUnicodeCasemap,
  encodedCharacter,
  envelope,
  fileinto,
  copy,
  variables,
  relational,
  subaddress,
  reject,
  ereject,
  mailbox,
  imap4flags,
  regex,
  body,
  environment,
  ihave,
  date,
  index,
  vacation,
  vacationSeconds,
  include,
  debug,
  duplicate,
  editheader,
  spamtest,
  spamtestplus,
  virustest,
  mime,
  foreverypart,
  extracttext,
  vndDovecotEnvironment,
  extlists,
  specialUse,
  mboxmetadata,
  servermetadata,
  envelopeDeliverby,
  redirectDeliverby,
  encloseExt,
  replace,
  enotify,
];
