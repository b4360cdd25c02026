/**
 * Header fields as their four strings: a parsed message's fields are
 * offsets into its text that make their strings when read
 * (src/sieve/runtime/message.ts), so two parses of the same fields are
 * compared by what they read, not by how they hold it.
 */
import type { HeaderField } from '../../src/sieve/runtime/message.js';

export const plainFields = (headers: readonly HeaderField[]) => headers.map((h) => ({ name: h.name, lname: h.lname, value: h.value, raw: h.raw }));
