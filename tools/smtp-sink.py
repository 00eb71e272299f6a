#!/usr/bin/python3
"""smtp-sink.py - a real SMTP server on loopback (Debian's aiosmtpd) that keeps every message:
`make run`'s mail catcher (var/mail) and the tests' relay.

  smtp-sink.py --port P --dir D [--starttls CERT KEY] [--implicit-tls CERT KEY]
               [--auth USER:PASSWORD]

Each message the server accepts is written whole to D/msgs/NNN.eml (written
to a temporary name, then renamed) *before* the 250 goes out, so a file
exists exactly when the server accepted the message.  The file starts with
two lines of its own, X-Sink-Mail-From and X-Sink-Rcpt-To (the envelope).

Behaviour can be changed while it runs, by files in D/ctl/:
  reply  a whole reply line for the end of DATA instead of 250 ("554 5.7.1 no")
  delay  seconds to wait before answering the end of DATA ("0.05")
  ehlo_delay  seconds to wait before answering EHLO (a relay slow before any mail is sent)
"""
import argparse
import os
import signal
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def read_ctl(d, name):
    try:
        with open(os.path.join(d, "ctl", name)) as f:
            return f.read().strip()
    except OSError:
        return ""


class Sink:
    def __init__(self, d):
        self.d = d
        self.n = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        import asyncio

        delay = read_ctl(self.d, "ehlo_delay")
        if delay:
            await asyncio.sleep(float(delay))
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        delay = read_ctl(self.d, "delay")
        if delay:
            await asyncio.sleep(float(delay))
        reply = read_ctl(self.d, "reply")
        if reply:
            return reply
        with self.lock:
            self.n += 1
            name = "%06d-%d" % (self.n, time.time_ns())
        path = os.path.join(self.d, "msgs", name + ".eml")
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        head = ("X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))).encode()
        with open(path + ".tmp", "wb") as f:
            f.write(head + data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(path + ".tmp", path)
        return "250 2.0.0 kept as " + name


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    a = p.parse_args()
    os.makedirs(os.path.join(a.dir, "msgs"), exist_ok=True)
    os.makedirs(os.path.join(a.dir, "ctl"), exist_ok=True)

    kw = {}
    if a.starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.starttls)
        kw.update(tls_context=ctx, require_starttls=True)
    if a.auth:
        user, pw = a.auth.split(":", 1)

        def check(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == pw.encode()
            return AuthResult(success=ok, handled=False)

        kw.update(authenticator=check, auth_required=True,
                  auth_require_tls=bool(a.starttls or a.implicit_tls))
    ckw = {}
    if a.implicit_tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*a.implicit_tls)
        ckw["ssl_context"] = ctx
        ckw["server_hostname"] = "localhost"
    c = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port, **ckw, **kw)
    c.start()
    with open(os.path.join(a.dir, "ready"), "w") as f:
        f.write(str(os.getpid()))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    c.stop()


if __name__ == "__main__":
    main()
