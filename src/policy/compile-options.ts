/**
 * How the product compiles a policy script, in one place, so that `check`,
 * `serve` and the dry run agree on what compiles: the product's Sieve++
 * functions, the phase, the server's read-only context keys, and `include`
 * resolved from files at compile time (RFC 6609 3.2; docs/server.md,
 * "Including scripts").
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dialect } from '../../grammars/sieve.js';
import { isReservedContextKey } from '../session/context-keys.js';
import type { CompileOptions } from '../sievepp/compile.js';
import { productFunctions } from './functions.js';

/**
 * An included script `name` is the file `name`, `name.sieve` or `name.siv`
 * in the including script's directory (personal), or in its `global/`
 * subdirectory (global, RFC 6609 3.2's ":global"), the first that exists.
 */
export function fileScriptLoader(dir: string): NonNullable<CompileOptions['loadScript']> {
  return (name, location) => {
    const base = location === 'global' ? join(dir, 'global') : dir;
    for (const file of [name, `${name}.sieve`, `${name}.siv`]) {
      try {
        return readFileSync(join(base, file), 'utf8');
      } catch {
        // try the next name
      }
    }
    return null;
  };
}

export function policyCompileOptions(file: string, options: { dialect?: Dialect; phase?: string }): Omit<CompileOptions, 'file'> {
  return {
    ...(options.dialect ? { dialect: options.dialect } : {}),
    ...(options.phase !== undefined ? { phase: options.phase } : {}),
    functions: productFunctions(),
    loadScript: fileScriptLoader(dirname(file)),
    readOnlyContextKey: isReservedContextKey,
  };
}
