#!/usr/bin/python3
"""Interop client: Python websocket-client (Debian python3-websocket).

Uses the library's tutorial pattern, WebSocketApp(url, on_open=...,
on_message=...) with run_forever(), and drives every case from the callbacks.

    /usr/bin/python3 client.py ws://127.0.0.1:PORT/ ws://127.0.0.1:HBPORT/

Over wss:// the CA that signed the echo's certificate is read from the file
named by INTEROP_CA and passed as run_forever(sslopt={"ca_certs": ...}).

The first URL is an echo with default settings; the server-ping case runs on
a fresh, quiet connection to the second, an echo that pings often
(-ping-interval 200ms), and checks the pings are answered (run_forever does
that by itself) by staying connected past the pong timeout.

Prints "PASS <case>" or "FAIL <case>: why" per case and "ALL PASS" at the
end; exits non-zero on any failure.
"""
import os
import sys
import threading

import websocket
from websocket import ABNF

URL = sys.argv[1]
HB_URL = sys.argv[2]
TEXT = "héllo wörld · Привет · 你好世界 · 🎉🚀 · 𝄞"  # 2, 3 and 4-byte UTF-8
BINARY = bytes((i * 7 + (i >> 9)) & 0xFF for i in range(1 << 20))  # 1 MiB
FRAG_TEXT = "frag🎉ment — 分片 — done"
PING = b"interop-ping"
MID_PING = b"mid-fragment"
CLOSE_REASON = "bye — ok"
IDLE = 4.0  # seconds of silence: past the heartbeat echo's ping interval + pong timeout
# wss://: trust the test's CA (certificate and host name are verified).
SSLOPT = {"ca_certs": os.environ["INTEROP_CA"]} if os.environ.get("INTEROP_CA") else None

failures = []
passed = []
state = {"case": None, "pongs": []}


def log(msg):
    print(msg, flush=True)


def ok(case):
    passed.append(case)
    log("PASS " + case)


def fail(ws, case, why):
    failures.append(case)
    log("FAIL %s: %s" % (case, why))
    ws.keep_running = False
    if ws.sock:
        ws.sock.abort()


def watchdog():
    log("FAIL %s: timed out waiting (100s)" % state["case"])
    os._exit(1)


def start(ws, case):
    state["case"] = case
    if case == "utf8-text":
        ws.send(TEXT)
    elif case == "binary-1MiB":
        ws.send(BINARY, ABNF.OPCODE_BINARY)
    elif case == "fragmented":
        # A text message in three frames, a 4-byte character split across the
        # first two, and a ping between the fragments (RFC 6455 5.4, 5.5).
        b = FRAG_TEXT.encode()
        cut1, cut2 = 6, 14  # "frag" + 2 of the 4 bytes of U+1F389
        ws.sock.send_frame(ABNF.create_frame(b[:cut1], ABNF.OPCODE_TEXT, fin=0))
        ws.sock.ping(MID_PING)
        ws.sock.send_frame(ABNF.create_frame(b[cut1:cut2], ABNF.OPCODE_CONT, fin=0))
        ws.sock.send_frame(ABNF.create_frame(b[cut2:], ABNF.OPCODE_CONT, fin=1))
    elif case == "ping-pong":
        ws.sock.ping(PING)
    elif case == "close-1000":
        # send_close (not close()) so that run_forever reads the server's
        # close frame and hands its code and reason to on_close.
        ws.sock.send_close(1000, CLOSE_REASON.encode())


ORDER = ["utf8-text", "binary-1MiB", "fragmented", "ping-pong", "close-1000"]


def next_case(ws):
    i = ORDER.index(state["case"])
    start(ws, ORDER[i + 1])


def on_open(ws):
    start(ws, ORDER[0])


def on_message(ws, message):
    case = state["case"]
    if case == "utf8-text":
        if message != TEXT:
            return fail(ws, case, "got %r" % message)
    elif case == "binary-1MiB":
        if not isinstance(message, bytes) or message != BINARY:
            return fail(ws, case, "got %s of %d bytes" % (type(message).__name__, len(message)))
    elif case == "fragmented":
        if message != FRAG_TEXT:
            return fail(ws, case, "got %r" % message)
        if MID_PING not in state["pongs"]:
            return fail(ws, case, "no pong for the ping sent between fragments")
    else:
        return fail(ws, case, "unexpected message %r" % message[:80])
    ok(case)
    next_case(ws)


def on_pong(ws, data):
    state["pongs"].append(data)
    if state["case"] == "ping-pong":
        if data != PING:
            return fail(ws, "ping-pong", "pong payload %r, want %r" % (data, PING))
        ok("ping-pong")
        next_case(ws)


def on_close(ws, code, reason):
    if state["case"] != "close-1000" or "close-1000" in failures:
        return
    log("   (server answered close with code %r, reason %r)" % (code, reason))
    if code != 1000:
        return fail(ws, "close-1000", "close code %r, want 1000" % code)
    # RFC 6455 5.5.1: the answer typically echoes the code; the reason is
    # optional. Accept the echoed reason or none, nothing else.
    if reason not in ("", CLOSE_REASON):
        return fail(ws, "close-1000", "close reason %r" % reason)
    ok("close-1000")


def on_error(ws, error):
    failures.append(state["case"] or "connect")
    log("FAIL %s: error %r" % (state["case"] or "connect", error))


def server_ping():
    """A second WebSocketApp on the heartbeat echo: stay quiet for IDLE
    seconds while the server pings, then check the connection still echoes."""
    case = "server-ping"
    state["case"] = case
    hb = {"pings": 0, "echoed": False}

    def on_open(ws):
        def after_idle():
            try:
                ws.send("after-idle")
            except Exception as e:  # noqa: BLE001 - the server closed it
                fail(ws, case, "connection gone after %.1fs quiet: %r" % (IDLE, e))

        t = threading.Timer(IDLE, after_idle)
        t.daemon = True
        t.start()

    def on_ping(ws, data):
        hb["pings"] += 1  # run_forever has already answered it

    def on_message(ws, message):
        if message != "after-idle":
            return fail(ws, case, "got %r" % message)
        if hb["pings"] == 0:
            return fail(ws, case, "no ping from the server in %.1fs" % IDLE)
        hb["echoed"] = True
        log("   (%d server pings answered in %.1fs)" % (hb["pings"], IDLE))
        ok(case)
        ws.close(status=1000)

    def on_close(ws, code, reason):
        if case not in failures and not hb["echoed"]:
            fail(ws, case, "closed after %d pings: code %r reason %r" % (hb["pings"], code, reason))

    ws = websocket.WebSocketApp(HB_URL, on_open=on_open, on_message=on_message,
                                on_ping=on_ping, on_close=on_close, on_error=on_error)
    ws.run_forever(sslopt=SSLOPT)


def main():
    timer = threading.Timer(100, watchdog)
    timer.daemon = True
    timer.start()
    ws = websocket.WebSocketApp(URL, on_open=on_open, on_message=on_message,
                                on_pong=on_pong, on_close=on_close, on_error=on_error)
    ws.run_forever(sslopt=SSLOPT)
    if not failures:
        server_ping()
    timer.cancel()
    missing = [c for c in ORDER + ["server-ping"] if c not in passed and c not in failures]
    for c in missing:
        log("FAIL %s: never finished (connection ended early)" % c)
    if failures or missing:
        sys.exit(1)
    log("ALL PASS")


if __name__ == "__main__":
    main()
