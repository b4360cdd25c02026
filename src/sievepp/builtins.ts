/**
 * The built-in Momentum Sieve++ functions, in one registry. The product
 * adds the functions of other modules (src/policy/functions.ts adds CBV's
 * smtp_callback_verify) with FunctionRegistry#with.
 */
import { sieveppActions } from './builtin-actions.js';
import { sieveppValueFunctions } from './builtin-functions.js';
import { sieveppTests } from './builtin-tests.js';
import { FunctionRegistry } from './functions.js';

let builtins: FunctionRegistry | undefined;

export function builtinFunctions(): FunctionRegistry {
  return (builtins ??= new FunctionRegistry([...sieveppTests, ...sieveppActions, ...sieveppValueFunctions]));
}

