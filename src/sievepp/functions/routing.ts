/**
 * ec_set_routing_gateway <address> (sieve-ref-ec-set-routing-gateway.md):
 * the gateway the recipient's mail leaves by, in place of its domain's
 * route, "in much the same way as the gateway configuration option"
 * (3-reference-conf-ref-gateway.md). The argument is read as that option
 * is: a host name or an IPv4 address, an IPv6 address in brackets, with an
 * optional port (config/gateway.ts); a literal that is none of those is a
 * compile error, a computed one a runtime error.
 *
 * Momentum runs it in each_rcpt, for one recipient, and so does smtp-cbv
 * (src/session/message-phases.ts): there it is that recipient's gateway,
 * merged last for it. smtp-cbv also decides each recipient at RCPT TO, so
 * there it is that recipient's gateway too; at DATA it is every
 * recipient's, and wins over what RCPT TO chose (the last choice wins, as
 * for ec_rewrite_mailfrom). docs/delivery.md ("Routing")
 * says how the queue reaches it, and docs/sieve-reference.md where it has
 * no effect (no routing, the Postfix front doors).
 */
import type { ActionDef } from '../../sieve/action.js';
import { formatGateway, parseGateway } from '../../config/gateway.js';
import { argString, type SieveFunction } from '../functions.js';

const NAME = 'ec_set_routing_gateway';

const problem = (text: string) => `${NAME}: '${text}' is not a gateway (a host name or address with an optional port, such as relay.example.net, 192.0.2.1:2525 or [2001:db8::1]:25)`;

/** The gateway for the recipient(s), as `host[:port]`; the last one taken wins. */
export const routingGatewayAction: ActionDef = {
  type: 'routing_gateway',
  cancelsImplicitKeep: () => false,
  repeat: (earlier, a) => ((earlier.target = a.target), 'merge'),
  describe: (a) => `routing_gateway ${a.target}`,
};

const setRoutingGateway: SieveFunction = {
  name: NAME,
  uses: { command: true },
  // each_rcpt is Momentum's phase (sieve-ref-3-function-summary.md); rcptto and data are smtp-cbv's (above).
  phases: ['rcptto', 'data', 'each_rcpt'],
  params: [{ name: 'address', type: 'string' }],
  validate(b, v) {
    const a = b.args[0];
    if (a?.kind === 'string' && typeof a.template === 'string' && !parseGateway(a.template)) v.error(a.node.pos, problem(a.template));
  },
  call(b, rt) {
    const text = argString(b, rt, 0)!;
    const gateway = parseGateway(text);
    if (!gateway) return rt.fail(problem(text), b.node.pos);
    rt.take(b, routingGatewayAction, { target: formatGateway(gateway) });
  },
};

export const routingFunctions: SieveFunction[] = [setRoutingGateway];
