#!/usr/bin/env python3
"""A real SMTP server on 127.0.0.1 for storepulse's delivery tests.

Modes:
  normal     accept every message
  starttls   require STARTTLS, then AUTH (PLAIN or LOGIN), then accept
  tls        implicit TLS from the first byte (port-465 style), AUTH required
  tempfail   answer the first DATA with 451, accept the ones after
  reject     answer every DATA with 550
  silent     accept the TCP connection and never say a word

Every accepted message is saved in --spool as NNNN.eml (the exact bytes) with
NNNN.json beside it (envelope sender, recipients, authenticated user), so the
test can count deliveries and parse each one.

Once listening, prints "READY <port>" on stdout (port 0 picks a free one).
"""

import argparse
import asyncio
import json
import os
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError:
    sys.stderr.write(
        "aiosmtpd is not installed: run scripts/test-deps.sh "
        "(python3 -m pip install aiosmtpd)\n"
    )
    sys.exit(3)


class Handler:
    def __init__(self, mode, spool):
        self.mode = mode
        self.spool = spool
        self.data_calls = 0
        self.saved = 0

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.mode == "tempfail" and self.data_calls == 1:
            return "451 4.3.0 Temporary local problem, try again later"
        if self.mode == "reject":
            return "550 5.7.1 Relaying denied: mailbox unavailable"
        self.saved += 1
        stem = os.path.join(self.spool, "%04d" % self.saved)
        tmp = stem + ".eml.tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_user": (
                session.auth_data.login.decode()
                if getattr(session, "auth_data", None) is not None
                and hasattr(session.auth_data, "login")
                else None
            ),
            "auth_mechanism": getattr(session, "storepulse_mechanism", None),
            "tls": session.ssl is not None or self.mode == "tls",
        }
        with open(stem + ".json", "w") as f:
            json.dump(meta, f)
        # The .eml appears last, complete, so a reader never sees half.
        os.rename(tmp, stem + ".eml")
        return "250 2.0.0 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        session.storepulse_mechanism = mechanism
        ok = (
            hasattr(auth_data, "login")
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def silent(reader, writer):
    # Hold the connection open and never answer.
    try:
        await reader.read()
    finally:
        writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument(
        "--mode",
        required=True,
        choices=["normal", "starttls", "tls", "tempfail", "reject", "silent"],
    )
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--spool", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument(
        "--auth-exclude", action="append", default=[], help="mechanism not to offer"
    )
    args = p.parse_args()
    os.makedirs(args.spool, exist_ok=True)
    loop = asyncio.get_running_loop()

    if args.mode == "silent":
        server = await asyncio.start_server(silent, "127.0.0.1", args.port)
    else:
        handler = Handler(args.mode, args.spool)
        kwargs = dict(hostname="storepulse-test", decode_data=False)
        ssl_ctx = None
        if args.mode in ("starttls", "tls"):
            if not (args.cert and args.key and args.user and args.password):
                p.error("--cert, --key, --user and --password are needed in this mode")
            kwargs.update(
                auth_required=True,
                authenticator=Authenticator(args.user, args.password),
                auth_exclude_mechanism=args.auth_exclude,
            )
            if args.mode == "starttls":
                kwargs.update(
                    tls_context=tls_context(args.cert, args.key),
                    require_starttls=True,
                    auth_require_tls=True,
                )
            else:
                ssl_ctx = tls_context(args.cert, args.key)
                # The whole connection is TLS; aiosmtpd only knows about
                # STARTTLS, so its own TLS requirement is switched off.
                kwargs.update(auth_require_tls=False)

        def factory():
            return SMTP(handler, loop=loop, **kwargs)

        server = await loop.create_server(
            factory, host="127.0.0.1", port=args.port, ssl=ssl_ctx
        )

    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
