#!/usr/bin/env bash
# Interop for `smtp-cbv policy` and `smtp-cbv milter` (docs/postfix.md): a
# second Postfix smtpd listener that asks our policy service at RCPT and at
# end of data, and our milter for every event. setup.sh calls this after
# Postfix is running; the vitest suite test/interop/frontdoors.test.ts starts
# the two services itself on the ports below.
#
#   127.0.0.1:2530   Postfix smtpd with smtpd_milters and check_policy_service
#   127.0.0.1:2531   smtp-cbv milter (started by the test)
#   127.0.0.1:2532   smtp-cbv policy (started by the test)
#   127.0.0.1:2533   Postfix smtpd with the milter only (npm run bench: the same
#                    Postfix with and without the milter, 2526 being without;
#                    its mail goes to smtp-cbv-bench@vm.test, an alias of /dev/null)
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

LISTEN=127.0.0.1:2530
MILTER=inet:127.0.0.1:2531
POLICY=inet:127.0.0.1:2532

# Idempotent: drop an entry left by an earlier run, then write it again.
postconf -MX "$LISTEN/inet" 2>/dev/null || true
postconf -M "$LISTEN/inet=$LISTEN inet n - n - - smtpd"
for setting in \
  "smtpd_milters=$MILTER" \
  "milter_default_action=tempfail" \
  "milter_command_timeout=30s" \
  "smtpd_policy_service_timeout=100s" \
  "smtpd_recipient_restrictions=check_policy_service,$POLICY,permit_mynetworks,reject" \
  "smtpd_end_of_data_restrictions=check_policy_service,$POLICY"; do
  postconf -P "$LISTEN/inet/$setting"
done
MILTER_ONLY=127.0.0.1:2533
postconf -MX "$MILTER_ONLY/inet" 2>/dev/null || true
postconf -M "$MILTER_ONLY/inet=$MILTER_ONLY inet n - n - - smtpd"
postconf -P "$MILTER_ONLY/inet/smtpd_milters=$MILTER" "$MILTER_ONLY/inet/milter_default_action=tempfail"
# The front-door benchmark's recipient, whose mail goes nowhere: npm run bench
# sends thousands of messages through this Postfix, and delivered to alice
# they grew her mailbox without end.
grep -q '^smtp-cbv-bench:' /etc/aliases 2>/dev/null || echo 'smtp-cbv-bench: /dev/null' >> /etc/aliases
newaliases
postfix check
postfix reload
# Run by setup.sh, and on its own by bench/frontdoors.bench.ts.
source "$(dirname "${BASH_SOURCE[0]}")/wait-tcp.sh"
for port in 2530 2533; do wait_tcp 127.0.0.1 "$port" || exit 1; done
