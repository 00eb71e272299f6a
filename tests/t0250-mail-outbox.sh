#!/bin/bash
# t0250 - the outbox and storefleet-mail against a real SMTP server (aiosmtpd) on loopback:
# one copy per message, headers that cannot be injected, RFC 2047, a relay that is down,
# refuses (5xx) or is slow, STARTTLS with AUTH, implicit TLS, and the password never logged.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-mail.sh"

CTL=$SF_BUILD/bin/storefleetctl
pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
export SF_MAIL_FROM='Store Fleet <fleet@example.net>' SF_MAIL_RETRY_BASE=60

# --- without a relay nothing is lost --------------------------------------------------------
ok "storefleetctl mail test queues a message" "$CTL" mail test alice@example.com
ok "storefleet-mail without mail_url exits 0 (a cron job with nothing to do)" mail_run
like "$(cat "$T/mail.log")" 'mail_url is not set' "... and says why nothing was sent"
is "$(oq "select state || ' ' || attempts from outbox")" "queued 0" "the message stays queued, untried"

smtp_start "$T/smtp" || bail "no SMTP server"
ok "storefleet-mail sends it" mail_run
is "$(mail_count)" 1 "the server received exactly one message"
f=$(mail_files | head -n 1)
is "$(oq "select state || ' ' || attempts || ' ' || (sent_at is not null) from outbox")" "sent 1 true" \
	"the row says sent, one attempt"
is "$(mail_hdr "$f" X-Sink-Rcpt-To)" "alice@example.com" "envelope recipient"
is "$(mail_hdr "$f" X-Sink-Mail-From)" "fleet@example.net" "envelope sender is mail_from's address"
is "$(mail_hdr "$f" From)" "Store Fleet <fleet@example.net>" "From: configurable"
is "$(mail_hdr "$f" Message-ID)" "$(oq "select message_id from outbox")" "the Message-ID stored on the row is the one sent"
is "$(mail_hdr "$f" Content-Type | cut -d';' -f1)" "multipart/alternative" "multipart/alternative"
like "$(mail_text "$f")" 'outbox, storefleet-mail and the mail relay work' "a plain-text part"
like "$(mail_html "$f")" '<code>storefleetctl mail test</code>' "an HTML part"
ok "storefleet-mail again sends nothing more" mail_run
is "$(mail_count)" 1 "still one message at the server"

# --- header injection: values cannot make headers --------------------------------------------
rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
"$CTL" mail test alice@example.com --note $'x\r\nBcc: victim@evil.example\r\n\r\n<b>hi</b> & "q"' >/dev/null
mail_run
f=$(mail_files | head -n 1)
is "$(mail_count)" 1 "a note with CR/LF: one message"
is "$(mail_hdr "$f" Bcc)" "" "no Bcc header was made"
is "$(mail_hdr "$f" X-Sink-Rcpt-To)" "alice@example.com" "and no extra recipient"
like "$(mail_hdr "$f" Subject)" '^storefleet test message \(x  Bcc: victim@evil.example    <b>hi</b> & "q"\)$' \
	"the subject keeps the text on one line (controls became spaces)"
like "$(mail_html "$f")" '&lt;b&gt;hi&lt;/b&gt; &amp; &quot;q&quot;' "the HTML part escapes it like the pages"
like "$(mail_text "$f")" '<b>hi</b> & "q"' "the plain part shows it as written"
raw_headers=$(sed -n '1,/^\r$/p' "$f")
unlike "$raw_headers" '^Bcc:' "no raw Bcc line in the headers"
for addr in $'bob@example.com\r\nBcc: x@evil.example' 'bob@example.com>' '<bob@example.com' 'bob @example.com' 'bob@example.com,eve@evil.example' 'bobexample.com'; do
	nok "an address with a header or list in it is refused: $(printf %q "$addr")" "$CTL" mail test "$addr"
done
is "$(oq "select count(*) from outbox")" 1 "nothing was queued for them"

# --- RFC 2047 --------------------------------------------------------------------------------
rm -f "$SMTP_DIR"/msgs/*.eml
"$CTL" mail test alice@example.com --note 'Café ☕ Zürich — ünïcödé and a long tail to force folding of words' >/dev/null
SF_MAIL_FROM='Flötte Ünïcode <fleet@example.net>' "$CTL" mail test alice@example.com >/dev/null
mail_run
g=$(mail_files | head -n 1)
h=$(mail_files | tail -n 1)
like "$(mail_hdr "$g" Subject)" 'Café ☕ Zürich — ünïcödé and a long tail to force folding of words' "a UTF-8 subject decodes back"
like "$(grep -a '^Subject:' "$g")" '^Subject: =\?UTF-8\?B\?' "... sent as RFC 2047 encoded words"
ok "... and every header line is ASCII" python3 -c '
import sys
head = open(sys.argv[1], "rb").read().split(b"\r\n\r\n")[0]
sys.exit(any(b > 126 or (b < 32 and b not in (9, 10, 13)) for b in head))' "$g"
is "$(mail_hdr "$h" From)" "Flötte Ünïcode <fleet@example.net>" "a UTF-8 display name in From decodes back"

# --- a relay that is down ----------------------------------------------------------------------
rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
smtp_stop
"$CTL" mail test carol@example.com >/dev/null
mail_run
is "$(oq "select state || ' ' || attempts from outbox")" "queued 1" "relay down: still queued after one attempt"
like "$(oq "select last_error from outbox")" "connect" "last_error says it could not connect"
ok "the next attempt waits (mail_retry_base)" test "$(oq "select next_attempt_at > now() + interval '50 seconds' from outbox")" = t
smtp_start "$T/smtp" || bail "no SMTP server"
mail_run
is "$(mail_count)" 0 "the relay is back, but the message is not due yet"
oq "update outbox set next_attempt_at = now()"
mail_run
is "$(mail_count)" 1 "once due, it is delivered"
is "$(oq "select state || ' ' || attempts || ' ' || last_error from outbox")" "sent 2 " "sent on the second attempt, the reason cleared"

# --- a relay that refuses (5xx), then accepts --------------------------------------------------
rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
echo '554 5.7.1 not today, thank you' >"$SMTP_DIR/ctl/reply"
"$CTL" mail test dave@example.com >/dev/null
mail_run
is "$(mail_count)" 0 "a 554 at the end of DATA: nothing kept"
is "$(oq "select state from outbox")" queued "the message stays queued"
like "$(oq "select last_error from outbox")" "554 5.7.1 not today, thank you" "with the relay's words as the reason"
oq "update outbox set next_attempt_at = now()"
mail_run
is "$(oq "select attempts || ' ' || (next_attempt_at - now() > interval '100 seconds') from outbox")" "2 true" \
	"refused again: the wait doubles (exponential backoff)"
rm -f "$SMTP_DIR/ctl/reply"
oq "update outbox set next_attempt_at = now()"
mail_run
is "$(mail_count)" 1 "the relay accepts again: delivered once"
is "$(oq "select state from outbox")" sent "sent"
oq "update outbox set state = 'queued', attempts = 19, next_attempt_at = now(), sent_at = null"
echo '550 5.1.1 no such user' >"$SMTP_DIR/ctl/reply"
mail_run
is "$(oq "select state from outbox")" failed "after mail_max_attempts (20) it is marked failed"
ok "storefleetctl mail resend puts a failed message back" "$CTL" mail resend "$(oq "select id from outbox")"
is "$(oq "select state from outbox")" queued "queued again"
rm -f "$SMTP_DIR/ctl/reply"

# --- a slow relay ----------------------------------------------------------------------------
rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
export SF_MAIL_TIMEOUT=1 SF_MAIL_LEASE=5
echo 3 >"$SMTP_DIR/ctl/ehlo_delay"
"$CTL" mail test erin@example.com >/dev/null
mail_run
is "$(oq "select state from outbox")" queued "slow before any mail was sent: queued"
like "$(oq "select last_error from outbox")" "[Tt]imeout|timed out" "the reason says it timed out"
rm -f "$SMTP_DIR/ctl/ehlo_delay"
oq "update outbox set next_attempt_at = now()"
mail_run
is "$(mail_count)" 1 "then delivered once"

rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
echo 2 >"$SMTP_DIR/ctl/delay"
"$CTL" mail test frank@example.com >/dev/null
mail_run
is "$(oq "select state from outbox")" unknown "slow after the end of the message: outcome unknown"
like "$(oq "select last_error from outbox")" "may have it" "the reason says the relay may have it"
wait_for 10 test "$(mail_count)" = 1
is "$(mail_count)" 1 "the relay did accept it, late: one copy"
oq "update outbox set next_attempt_at = now()"
mail_run
is "$(mail_count)" 1 "an unknown message is not sent again by itself"
rm -f "$SMTP_DIR/ctl/delay"
unset SF_MAIL_TIMEOUT SF_MAIL_LEASE
smtp_stop

# --- STARTTLS with AUTH, implicit TLS ----------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
	bail "openssl cannot make a certificate"
rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
PW='s3cret-relay-password'
printf '%s\n' "$PW" >"$T/mailpw"
export SF_MAIL_TLS=required SF_MAIL_CA_FILE=$T/cert.pem SF_MAIL_USER=fleet SF_MAIL_PASSWORD_FILE=$T/mailpw
smtp_start "$T/smtp" --starttls "$T/cert.pem" "$T/key.pem" --auth "fleet:$PW" || bail "no STARTTLS server"
"$CTL" mail test gina@example.com >/dev/null
SF_LOG_LEVEL=debug mail_run
is "$(mail_count)" 1 "STARTTLS required + AUTH: delivered"
unlike "$(cat "$T/mail.log")" "$PW|$(printf 'fleet\0%s' "$PW" | base64)" "the password is not in the sender's log"
printf 'wrong-password\n' >"$T/mailpw"
"$CTL" mail test gina@example.com >/dev/null
mail_run
like "$(oq "select last_error from outbox where state = 'queued'")" "535|[Ll]ogin|auth" "a wrong password: queued with the relay's refusal"
smtp_stop

rm -f "$SMTP_DIR"/msgs/*.eml
oq "delete from outbox"
smtp_start "$T/smtp" || bail "no SMTP server"
"$CTL" mail test hal@example.com >/dev/null
mail_run
is "$(oq "select state from outbox")" queued "STARTTLS required, relay without it: not sent in clear"
like "$(oq "select last_error from outbox")" "STARTTLS|TLS|SSL" "the reason names TLS"
smtp_stop

unset SF_MAIL_TLS SF_MAIL_URL SF_MAIL_USER SF_MAIL_PASSWORD_FILE
oq "delete from outbox"
rm -f "$SMTP_DIR"/msgs/*.eml
smtp_start "$T/smtp" --implicit-tls "$T/cert.pem" "$T/key.pem" || bail "no TLS server"
export SF_MAIL_URL=smtps://127.0.0.1:$SMTP_PORT
"$CTL" mail test ivy@example.com >/dev/null
mail_run
is "$(mail_count)" 1 "smtps:// (implicit TLS): delivered"
is "$(oq "select state from outbox")" sent "sent"

# --- the platform runs it every minute, like reconcile -------------------------------------------
"$SF_BUILD/bin/storefleetctl" render platform --overlay prod --json >"$T/platform.json"
is "$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
c = [i for i in j["items"] if i["kind"] == "CronJob" and i["metadata"]["name"] == "storefleet-mail"][0]
p = c["spec"]["jobTemplate"]["spec"]["template"]["spec"]
print(c["spec"]["schedule"], c["spec"]["concurrencyPolicy"], " ".join(p["containers"][0]["command"]),
      p["automountServiceAccountToken"])' "$T/platform.json")" \
	"* * * * * Forbid storefleet-mail --for 55s False" \
	"the platform chart has a storefleet-mail CronJob: every minute, no overlap, no Kubernetes token"

done_testing
