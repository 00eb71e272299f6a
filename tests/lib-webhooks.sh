# lib-webhooks.sh - helpers for the WooCommerce webhook tests t073x (sourced after lib.sh and lib-stores.sh).

# wc_sign SECRET FILE: the X-WC-Webhook-Signature of FILE's bytes, computed by openssl
# (independently of src/domain/webhook.c).
wc_sign() {
	openssl dgst -sha256 -hmac "$1" -binary <"$2" | base64 -w0
}

# wc_deliver STORE TOPIC FILE SECRET [curl args...]: POST FILE as WooCommerce does, signed
# with SECRET ("" = no signature header); Delivery-ID from $DELIVERY (default: random).
# Sets STATUS BODY HEADERS like http.
wc_deliver() {
	local store=$1 topic=$2 file=$3 secret=$4 sig=()

	shift 4
	[ -n "$secret" ] && sig=(-H "X-WC-Webhook-Signature: $(wc_sign "$secret" "$file")")
	NOCOOKIES=1 http POST "/hooks/woocommerce/$store" \
		-H 'Content-Type: application/json' \
		-H 'User-Agent: WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)' \
		-H "X-WC-Webhook-Source: http://store-$store.127.0.0.1.nip.io/" \
		-H "X-WC-Webhook-Topic: $topic" \
		-H "X-WC-Webhook-Resource: ${topic%%.*}" \
		-H "X-WC-Webhook-Event: ${topic#*.}" \
		-H "X-WC-Webhook-ID: 3" \
		-H "X-WC-Webhook-Delivery-ID: ${DELIVERY:-$RANDOM$RANDOM}" \
		"${sig[@]}" --data-binary @"$file" "$@"
}

# fcgi_oversized SOCKET PATH BYTES: a FastCGI request straight to the app's socket declaring
# BYTES of body and streaming them while watching for the answer.  Prints
# "STATUS SENT" - the status line's code and how many body bytes had been accepted by the
# socket when the answer arrived (the app never read them: it answered from CONTENT_LENGTH).
fcgi_oversized() {
	python3 - "$@" <<'PY'
import os, select, socket, struct, sys, time

sock_path, path, total = sys.argv[1], sys.argv[2], int(sys.argv[3])

def rec(t, content):
    return struct.pack(">BBHHBB", 1, t, 1, len(content), 0, 0) + content

def nv(k, v):
    out = b""
    for x in (k, v):
        out += bytes([len(x)]) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
    return out + k + v

params = {b"REQUEST_METHOD": b"POST", b"REQUEST_URI": path.encode(), b"SCRIPT_NAME": path.encode(),
          b"DOCUMENT_URI": path.encode(), b"QUERY_STRING": b"", b"CONTENT_TYPE": b"application/json",
          b"CONTENT_LENGTH": str(total).encode(), b"REMOTE_ADDR": b"127.0.0.1",
          b"SERVER_PROTOCOL": b"HTTP/1.1", b"HTTP_HOST": b"localhost"}
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
s.sendall(rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, b"".join(nv(k, v) for k, v in params.items())) + rec(4, b""))
s.setblocking(False)
chunk = rec(5, b"x" * 65000)
sent, pending, answer, deadline = 0, b"", b"", time.time() + 60
while time.time() < deadline:
    r, w, _ = select.select([s], [s] if sent < total else [], [], 1)
    if r:
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            break
        answer += data
        if b"\x01\x03\x00\x01" in answer:  # FCGI_END_REQUEST
            break
        continue
    if w:
        if not pending:
            pending = chunk
        try:
            n = s.send(pending)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            break
        # count body bytes only, pro rata of the record
        sent += n * 65000 // len(chunk)
        pending = pending[n:]
out = b""
i = 0
while i + 8 <= len(answer):
    ver, t, rid, clen, plen, _ = struct.unpack(">BBHHBB", answer[i:i + 8])
    if t == 6:
        out += answer[i + 8:i + 8 + clen]
    i += 8 + clen + plen
status = "none"
for line in out.split(b"\r\n"):
    if line.lower().startswith(b"status:"):
        status = line.split()[1].decode()
        break
print(status, sent)
PY
}
