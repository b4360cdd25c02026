#!/usr/bin/env bash
# Interop: the CBV engine against real Postfix, smtp-sink and dnsmasq, and the
# server against swaks and smtp-source.
# Run as root on Debian 12: .ci/run calls it after
# `npm test`; `npm run test:interop` runs it too.
#
# It installs what is missing (one apt-get update, then apt-get install) and
# FAILS if that does not work: a missing package is an error here, never a
# skip. Services never autostart on these machines, so it starts them itself
# and stops each by PID on exit.
#
#   127.0.0.1:2526   Postfix smtpd: alice@vm.test exists, nosuchuser@vm.test does not
#   127.0.0.1:2534   Postfix smtpd without 8BITMIME; alice@seven.test is alice
#   127.0.0.2:2526   smtp-sink answering 450 (soft reject) to every RCPT TO
#   127.0.0.3:2526   nothing of ours: the interop test listens there to prove the
#                    null-MX domain (whose A record points there) is never contacted
#   127.0.0.1:5353   dnsmasq, authoritative for .test, with the MX records below
set -euo pipefail
cd "$(dirname "$0")/../.."

DNS_PORT=5353
SMTP_PORT=2526
SEVEN_BIT_PORT=2534

need_install=0
for cmd in postfix postconf smtp-sink smtp-source dnsmasq swaks; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need_install=1
done
if [ "$need_install" = 1 ]; then
  echo "== interop: installing postfix, dnsmasq-base and swaks"
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string vm.test" | debconf-set-selections
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix dnsmasq-base swaks
fi
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
for cmd in postfix postconf smtp-sink smtp-source dnsmasq swaks; do
  command -v "$cmd" >/dev/null || { echo "interop: $cmd is missing after install" >&2; exit 1; }
done

pids=()
# Temporary directories the services below create; removed once they are stopped.
tmpdirs=()
postfix_pidfile=/var/spool/postfix/pid/master.pid
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -s "$postfix_pidfile" ]; then kill "$(tr -d ' ' < "$postfix_pidfile")" 2>/dev/null || true; fi
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for dir in "${tmpdirs[@]}"; do rm -rf "$dir"; done
  exit "$status"
}
trap cleanup EXIT

echo "== interop: configuring postfix on 127.0.0.1:$SMTP_PORT"
# testing.md: replace the `smtp inet` line by a loopback listener on 2526.
sed -i -E "s/^smtp[[:space:]]+inet[[:space:]].*$/127.0.0.1:$SMTP_PORT inet n - n - - smtpd/" /etc/postfix/master.cf
grep -q "^127.0.0.1:$SMTP_PORT inet" /etc/postfix/master.cf
postconf -e inet_protocols=ipv4 inet_interfaces=127.0.0.1 myhostname=vm.test maillog_file=/var/log/postfix.log recipient_delimiter=+
id alice >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin alice
# A listener that does not offer 8BITMIME, for seven.test (alice@seven.test is
# alice): the delivery test's next hop for a message sent in 7 bits (RFC 6152 3).
postconf -MX "127.0.0.1:$SEVEN_BIT_PORT/inet" 2>/dev/null || true
postconf -M "127.0.0.1:$SEVEN_BIT_PORT/inet=127.0.0.1:$SEVEN_BIT_PORT inet n - n - - smtpd"
postconf -P "127.0.0.1:$SEVEN_BIT_PORT/inet/smtpd_discard_ehlo_keywords=8bitmime"
postconf -e virtual_alias_domains=seven.test 'virtual_alias_maps=inline:{ alice@seven.test=alice@vm.test }'
# A master left over from an earlier run would hold the port with an old config.
if [ -s "$postfix_pidfile" ] && kill -0 "$(tr -d ' ' < "$postfix_pidfile")" 2>/dev/null; then
  kill "$(tr -d ' ' < "$postfix_pidfile")"
  sleep 1
fi
postfix check
postfix start

echo "== interop: dnsmasq on 127.0.0.1:$DNS_PORT"
dnsmasq -k --conf-file=/dev/null --port=$DNS_PORT --listen-address=127.0.0.1 --bind-interfaces \
  --no-resolv --no-hosts --local=/test/ \
  --mx-host=vm.test,mx.vm.test,10 --host-record=mx.vm.test,127.0.0.1 \
  --mx-host=sink.test,mx.sink.test,10 --host-record=mx.sink.test,127.0.0.2 \
  --mx-host=nullmx.test,.,0 --host-record=nullmx.test,127.0.0.3 &
pids+=($!)

echo "== interop: smtp-sink on 127.0.0.2:$SMTP_PORT (450 at RCPT)"
smtp-sink -u nobody -r RCPT 127.0.0.2:$SMTP_PORT 64 &
pids+=($!)

source test/interop/services/wait-tcp.sh
wait_tcp 127.0.0.1 $SMTP_PORT
wait_tcp 127.0.0.1 $SEVEN_BIT_PORT
wait_tcp 127.0.0.2 $SMTP_PORT
for pid in "${pids[@]}"; do kill -0 "$pid"; done

bash test/interop/services/postfix-frontdoors.sh
source test/interop/services/lmtp.sh   # Dovecot LMTP: next hop of the delivery test

echo "== interop: vitest"
INTEROP_DNS="127.0.0.1:$DNS_PORT" INTEROP_PORT="$SMTP_PORT" INTEROP_SEVEN_BIT_PORT="$SEVEN_BIT_PORT" npx vitest run --config vitest.interop.config.ts
