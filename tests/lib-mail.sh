# lib-mail.sh - a real SMTP server on loopback for the email tests (sourced after tests/lib.sh).
#
#   smtp_start DIR [smtp-sink.py args...]  tools/smtp-sink.py on SMTP_PORT (a free port
#                 the first time, the same one after); exports SMTP_PID SMTP_PORT SMTP_DIR,
#                 SF_MAIL_URL=smtp://127.0.0.1:PORT and SF_MAIL_TLS=none unless set
#   smtp_stop     stop it (by PID); its messages stay in SMTP_DIR/msgs
#   mail_count    messages the server accepted so far
#   mail_files    their paths, oldest first
#   mail_hdr FILE NAME   a header, RFC 2047 decoded
#   mail_text FILE       the text/plain part, decoded
#   mail_html FILE       the text/html part, decoded
#   mail_run [args]      storefleet-mail --once (output in $T/mail.log); its exit status
#   oq SQL               psql on the stack's database

oq() { psql -XAtqc "$1"; }

# smtp_start is tools/stack.sh's (make run's mail catcher is the same server).

smtp_stop() {
	stack_kill "smtp:$SMTP_PID"
}

mail_files() { ls "$SMTP_DIR"/msgs/*.eml 2>/dev/null | sort; }
mail_count() { mail_files | wc -l; }

_mail_py() {
	python3 - "$@" <<'PY'
import email, email.header, email.policy, sys
what, path = sys.argv[1], sys.argv[2]
m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
if what == "hdr":
    v = m.get(sys.argv[3])
    print("" if v is None else str(v))
elif what == "raw":
    print(m.get(sys.argv[3], ""), end="")
else:
    for part in m.walk():
        if part.get_content_type() == "text/" + what:
            print(part.get_content(), end="")
PY
}
mail_hdr() { _mail_py hdr "$1" "$2"; }
mail_text() { _mail_py plain "$1"; }
mail_html() { _mail_py html "$1"; }

mail_run() {
	"$SF_BUILD/bin/storefleet-mail" --once "$@" >"$T/mail.log" 2>&1
}

# The web stack with links in mail pointing at it: PostgreSQL, schema, app, nginx on a port
# chosen first so that SF_PUBLIC_ORIGIN can name it.
sf_mail_stack() {
	local port

	port=$(free_port)
	export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=${SF_REGISTRATION_OPEN:-true}
	export SF_PUBLIC_ORIGIN=http://127.0.0.1:$port
	pg_start "$T/pg" || bail "cannot start PostgreSQL"
	sf_migrate || bail "migrate failed"
	app_start "$T" "${SF_TEST_WORKERS:-2}" || bail "cannot start storefleet.fcgi"
	nginx_start "$T" "$port" || bail "cannot start nginx"
}

# The token of the last reset link mailed to ADDRESS (after mail_run).
mail_last_token() {
	local f

	f=$(grep -l "^X-Sink-Rcpt-To: $1" "$SMTP_DIR"/msgs/*.eml 2>/dev/null | sort | tail -n 1)
	[ -n "$f" ] || return 1
	mail_text "$f" | sed -n 's|.*/password/reset?token=\([A-Za-z0-9_-]*\).*|\1|p' | head -n 1
}
