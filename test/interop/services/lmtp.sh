# Dovecot LMTP on 127.0.0.1:$LMTP_PORT for the delivery interop test, rootless
# in its own directory: any recipient is accepted
# and delivered to $INTEROP_LMTP_DIR/mail/<localpart>/new/.
# Sourced by test/interop/setup.sh, whose cleanup stops it by PID (pids+=)
# and then removes its directory (tmpdirs+=).
LMTP_PORT=2424
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  echo "== interop: installing dovecot-lmtpd"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-lmtpd
fi
command -v dovecot >/dev/null || { echo "interop: dovecot is missing after install" >&2; exit 1; }

INTEROP_LMTP_DIR=$(mktemp -d /tmp/smtp-cbv-lmtp.XXXXXX)
tmpdirs+=("$INTEROP_LMTP_DIR")
mkdir -p "$INTEROP_LMTP_DIR/run" "$INTEROP_LMTP_DIR/mail"
chmod 0755 "$INTEROP_LMTP_DIR"
chmod 0777 "$INTEROP_LMTP_DIR/mail"
cat > "$INTEROP_LMTP_DIR/dovecot.conf" <<CONF
protocols = lmtp
base_dir = $INTEROP_LMTP_DIR/run
state_dir = $INTEROP_LMTP_DIR/run
instance_name = smtp-cbv-interop
log_path = $INTEROP_LMTP_DIR/dovecot.log
mail_location = maildir:$INTEROP_LMTP_DIR/mail/%n
ssl = no
mail_uid = 65534
mail_gid = 65534
first_valid_uid = 0
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$INTEROP_LMTP_DIR/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
CONF
echo "== interop: dovecot LMTP on 127.0.0.1:$LMTP_PORT"
dovecot -F -c "$INTEROP_LMTP_DIR/dovecot.conf" &
pids+=($!)
export INTEROP_LMTP="127.0.0.1:$LMTP_PORT" INTEROP_LMTP_DIR
