#!/usr/bin/python3
"""Interop client: Python websockets (Debian python3-websockets), asyncio API.

    /usr/bin/python3 client_websockets.py ws://127.0.0.1:PORT/ ws://127.0.0.1:HBPORT/

Over wss:// the CA that signed the echo's certificate is read from the file
named by INTEROP_CA.

The first URL is an echo with default settings; the server-ping case runs on
a fresh, quiet connection to the second, an echo that pings often
(-ping-interval 200ms), and checks that the pings are answered (websockets
does that by itself) by staying connected past the pong timeout.

Prints "PASS <case>" or "FAIL <case>: why" per case and "ALL PASS" at the
end; exits non-zero on any failure.
"""
import asyncio
import os
import ssl
import sys

import websockets

URL = sys.argv[1]
HB_URL = sys.argv[2]
TEXT = "héllo wörld · Привет · 你好世界 · 🎉🚀 · 𝄞"  # 2, 3 and 4-byte UTF-8
BINARY = bytes((i * 7 + (i >> 9)) & 0xFF for i in range(1 << 20))  # 1 MiB
FRAGMENTS = ["frag", "🎉ment", " — 分片", " — done"]
CLOSE_REASON = "bye — ok"
IDLE = 4.0  # past the heartbeat echo's ping interval + pong timeout
TIMEOUT = 20
# wss://: a context trusting the test's CA (None for ws://).
SSL = ssl.create_default_context(cafile=os.environ["INTEROP_CA"]) if os.environ.get("INTEROP_CA") else None

failures = []


def log(msg):
    print(msg, flush=True)


async def case(name, coro):
    try:
        await asyncio.wait_for(coro, TIMEOUT)
    except Exception as e:  # noqa: BLE001 - report every failure the same way
        failures.append(name)
        log("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        return False
    log("PASS " + name)
    return True


def expect(cond, why):
    if not cond:
        raise AssertionError(why)


async def main():
    # The library's own keepalive stays off: the cases send their own pings.
    async with websockets.connect(URL, max_size=2 << 20, ping_interval=None,
                                  open_timeout=TIMEOUT, ssl=SSL) as ws:

        async def utf8():
            await ws.send(TEXT)
            got = await ws.recv()
            expect(got == TEXT, "got %r" % got)

        async def binary():
            await ws.send(BINARY)
            got = await ws.recv()
            expect(isinstance(got, bytes), "got %s" % type(got).__name__)
            expect(got == BINARY, "got %d bytes, content differs" % len(got))

        async def fragmented():
            # An iterable sends one message as a text frame and continuation
            # frames, one per item.
            await ws.send(iter(FRAGMENTS))
            got = await ws.recv()
            expect(got == "".join(FRAGMENTS), "got %r" % got)

        async def ping_pong():
            waiter = await ws.ping(b"interop-ping")
            latency = await waiter  # resolves when the matching pong arrives
            if latency is not None:  # websockets >= 10.3 returns the latency
                log("   (pong after %.1f ms)" % (latency * 1000))

        async def close():
            await ws.close(1000, CLOSE_REASON)
            code, reason = ws.close_code, ws.close_reason
            log("   (server answered close with code %r, reason %r)" % (code, reason))
            expect(code == 1000, "close code %r, want 1000" % code)
            expect(reason in ("", CLOSE_REASON), "close reason %r" % reason)

        for name, fn in [("utf8-text", utf8), ("binary-1MiB", binary),
                         ("fragmented", fragmented), ("ping-pong", ping_pong),
                         ("close-1000", close)]:
            if not await case(name, fn()):
                return

    async def server_ping():
        # The library's keepalive is off: the only pings are the server's,
        # and websockets answers them by itself. After a quiet spell longer
        # than the server's ping interval plus pong timeout the connection
        # must still work.
        async with websockets.connect(HB_URL, ping_interval=None, open_timeout=TIMEOUT, ssl=SSL) as hb:
            await asyncio.sleep(IDLE)
            await hb.send("after-idle")
            got = await hb.recv()
            expect(got == "after-idle", "got %r" % got)

    await case("server-ping", server_ping())


try:
    asyncio.run(main())
except Exception as e:  # noqa: BLE001
    failures.append("connect")
    log("FAIL connection: %s: %s" % (type(e).__name__, e))
if failures:
    sys.exit(1)
log("ALL PASS")
