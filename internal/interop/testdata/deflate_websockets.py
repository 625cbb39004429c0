#!/usr/bin/python3
"""permessage-deflate interop client: Python websockets (Debian
python3-websockets), legacy asyncio API, for deflate_test.go.

    /usr/bin/python3 deflate_websockets.py URL WINDOW_BITS client-nct|server-bits|- [SIZE...]

Offers permessage-deflate with client_max_window_bits=WINDOW_BITS (and
client_no_context_takeover + server_no_context_takeover with "client-nct",
server_max_window_bits=WINDOW_BITS with "server-bits" -- zlib then inflates
the server's messages with that window and fails on a reference past it --,
"-" otherwise), then, for every size, sends a text message (UTF-8 JSON with
multi-byte characters), a compressible binary one and (up to 16 KiB) a random
binary one, each whole and then fragmented (send() with an async iterable:
4 fragments, compressed by the library with RSV1 on the first only, a ping
between each two fragments); above 64 KiB a text message fragmented and a
binary one whole. Checks every echo byte for byte and every pong.

Prints "EXT <negotiated Sec-WebSocket-Extensions>", "PASS <case>" per
message and "ALL PASS <count>" at the end; "FAIL <case>: why" and a non-zero
exit on the first failure.
"""
import asyncio
import os
import random
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

URL = sys.argv[1]
BITS = int(sys.argv[2])
CLIENT_NCT = len(sys.argv) > 3 and sys.argv[3] == "client-nct"
SERVER_BITS = len(sys.argv) > 3 and sys.argv[3] == "server-bits"
SIZES = [int(s) for s in sys.argv[4:]] or [16, 64, 256, 1024, 4096, 16384, 65536, 262144]
RANDOM_MAX = 16384  # random (incompressible, echoed plain) messages up to this size
BIG = 65536  # above this size: a text message fragmented, a binary one whole
TIMEOUT = 30
WORDS = ["switchboard", "deflate", "héllo", "wörld", "Привет", "你好", "🎉", "value", "count", "true"]


def text_of(n, seed):
    r = random.Random(seed)
    parts, size = [], 0
    while size < n:
        p = '{"id":%d,"name":"%s","tags":["%s","%s"],"ok":%s},' % (
            r.randrange(1000), r.choice(WORDS), r.choice(WORDS), r.choice(WORDS),
            r.choice(["true", "false"]))
        parts.append(p)
        size += len(p.encode())
    b = "".join(parts).encode()[:n]
    s = b.decode("utf-8", "ignore")  # drop a code point cut at the end
    return s + "x" * (n - len(s.encode()))


def binary_of(n, seed):
    r = random.Random(seed)
    rec = bytes(r.randrange(256) for _ in range(61))
    out = bytearray()
    i = 0
    while len(out) < n:
        out += i.to_bytes(3, "big") + rec
        i += 1
    return bytes(out[:n])


def split4(m):
    n = len(m)
    cuts = [0, n // 4, n // 2, 3 * n // 4, n]
    return [m[cuts[i]:cuts[i + 1]] for i in range(4)]


def cases():
    """(size, kind, fragmentation) of every message, in order."""
    for n in SIZES:
        if n > BIG:  # one text fragmented and one binary whole: enough, and fast
            yield n, "text", "fragmented"
            yield n, "binary", "whole"
            continue
        for kind in ("text", "binary", "random") if n <= RANDOM_MAX else ("text", "binary"):
            for frag in ("whole", "fragmented"):
                yield n, kind, frag


async def main():
    ext = ClientPerMessageDeflateFactory(
        server_no_context_takeover=CLIENT_NCT,
        client_no_context_takeover=CLIENT_NCT,
        client_max_window_bits=BITS,
        server_max_window_bits=BITS if SERVER_BITS else None,
    )
    async with websockets.connect(URL, extensions=[ext], compression=None, max_size=None,
                                  ping_interval=None, open_timeout=TIMEOUT) as ws:
        print("EXT %s" % ws.response_headers.get("Sec-WebSocket-Extensions"), flush=True)
        count = 0
        for n, kind, frag in cases():
            if kind == "text":
                msg = text_of(n, n)
            elif kind == "binary":
                msg = binary_of(n, n)
            else:
                msg = os.urandom(n)
            name = "%s-%d-%s" % (kind, n, frag)
            pongs = []
            try:
                if frag == "whole":
                    await asyncio.wait_for(ws.send(msg), TIMEOUT)
                else:
                    async def fragments():
                        for i, f in enumerate(split4(msg)):
                            if i:
                                pongs.append(await ws.ping(b"p%d" % i))
                            yield f
                    await asyncio.wait_for(ws.send(fragments()), TIMEOUT)
                got = await asyncio.wait_for(ws.recv(), TIMEOUT)
                for p in pongs:
                    await asyncio.wait_for(p, TIMEOUT)
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
                sys.exit(1)
            if type(got) is not type(msg) or got != msg:
                at = next((i for i, (a, b) in enumerate(zip(got, msg)) if a != b), min(len(got), len(msg)))
                print("FAIL %s: echo differs (%s of length %d, first difference at %d)"
                      % (name, type(got).__name__, len(got), at), flush=True)
                sys.exit(1)
            print("PASS " + name, flush=True)
            count += 1
        print("ALL PASS %d" % count, flush=True)


asyncio.run(main())
