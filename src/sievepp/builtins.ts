/**
 * The built-in Momentum Sieve++ functions, in one registry. The product
 * adds the functions of other modules (src/policy/functions.ts adds CBV's
 * smtp_callback_verify) with FunctionRegistry#with.
 */
import { sieveppActions } from './builtin-actions.js';
import { sieveppValueFunctions } from './builtin-functions.js';
import { sieveppTests } from './builtin-tests.js';
import { FunctionRegistry } from './functions.js';
import { auditConnectionFunctions } from './functions/audit-connections.js';
import { cidrFunctions } from './functions/cidr.js';
import { counterFunctions } from './functions/counters.js';
import { datasourceFunctions } from './functions/datasource.js';
import { deliveryFunctions } from './functions/delivery.js';
import { maildirFunctions } from './functions/maildir.js';
import { dkimSignFunctions } from './functions/dkim-sign.js';
import { errorModeFunctions } from './functions/error-mode.js';
import { esmtpFunctions } from './functions/esmtp.js';
import { gaugeCacheFunctions } from './functions/gauge-cache.js';
import { clusterCacheFunctions } from './functions/cluster-cache.js';
import { hashFunctions } from './functions/hash.js';
import { includeFunctions } from './functions/include.js';
import { interfaceFunctions } from './functions/interfaces.js';
import { loggingFunctions } from './functions/logging.js';
import { mathFunctions } from './functions/math.js';
import { messageFunctions } from './functions/message.js';
import { rfc2047AddressFunctions } from './functions/rfc2047-addresses.js';
import { routingFunctions } from './functions/routing.js';
import { spoolSpaceFunctions } from './functions/spool-space.js';
import { stringFunctions } from './functions/strings.js';
import { sharedThrottleFunctions, throttleFunctions } from './functions/throttle.js';
import { traceContextFunctions } from './functions/trace-context.js';

let builtins: FunctionRegistry | undefined;

export function builtinFunctions(): FunctionRegistry {
  return (builtins ??= new FunctionRegistry([
    ...sieveppTests,
    ...sieveppActions,
    ...sieveppValueFunctions,
    ...hashFunctions,
    ...mathFunctions,
    ...stringFunctions,
    ...messageFunctions,
    ...counterFunctions,
    ...auditConnectionFunctions,
    ...datasourceFunctions,
    ...deliveryFunctions,
    ...maildirFunctions,
    ...routingFunctions,
    ...cidrFunctions,
    ...loggingFunctions,
    ...includeFunctions,
    ...interfaceFunctions,
    ...esmtpFunctions,
    ...spoolSpaceFunctions,
    ...throttleFunctions,
    ...sharedThrottleFunctions,
    ...gaugeCacheFunctions,
    ...clusterCacheFunctions,
    ...errorModeFunctions,
    ...rfc2047AddressFunctions,
    ...traceContextFunctions,
    ...dkimSignFunctions,
  ]));
}
