/**
 * How every scope module declares an option (docs/configuration.md lists
 * them from these specs): one constructor, so that the schema and the scopes
 * kept in their own files (delivery, authentication, mailboxes, recipient
 * call-ahead) build the same shape.
 */
import type { OptionSpec } from './schema.js';
import type { ValueType } from './values.js';

export function opt<T>(name: string, type: ValueType<T>, def: string | null, doc: string, required = false): OptionSpec<T> {
  return { name, type, default: def, doc, required };
}
