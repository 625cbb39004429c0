#!/usr/bin/env bash
# usage: benchmarks/scripts/stall-budget.sh [N] [SIZE]
#   e.g. benchmarks/scripts/stall-budget.sh            # 6000 stalled 1 MiB messages
#        benchmarks/scripts/stall-budget.sh 200        # a small run
#        SERVER_ARGS="-inbound-budget 268435456" benchmarks/scripts/stall-budget.sh
#        SERVER_CMD="/tmp/x -addr {addr} -ping-interval 0" benchmarks/scripts/stall-budget.sh
#
# Starts a WebSocket echo server, then (benchmarks/cmd/stall) opens N
# connections over source addresses 127.0.0.2, 127.0.0.3, ... (1000 each)
# that each send one binary frame declaring SIZE bytes (default 1 MiB) and
# all of its payload but the last byte, and then stall; meanwhile one
# healthy connection echoes a 1 KiB message every 5 ms. It reports how many
# stalled connections the server accepted and closed (by close code: an
# inbound budget closes with 1013 or 1009), the server's RSS (before, peak,
# end of the hold, after every stalled connection is closed), whether the
# server stayed alive, and the healthy connection's echoes and p50/p99/max
# round trip before, during and after the flood. Bounded: under 5 minutes.
# Not part of `make test`.
#
# Environment:
#   SERVER_CMD   server command line, {addr} standing for its listen address;
#                the process it starts is the one measured (no `go run`).
#                Default: examples/echo built from this checkout, run as
#                "<echo> -addr {addr} -ping-interval 0 $SERVER_ARGS" (no
#                heartbeat: a stalled client cannot answer pings, so only
#                the inbound limits close it).
#   SERVER_ARGS  extra flags for the default server (e.g. its budget knob).
#   STALL_ARGS   extra flags for cmd/stall (see `stall -h`: -hold, -after,
#                -echo-every, -rss-limit-mb, -per-source, ...).
#   OUT          directory for the outputs (default: a new /tmp/stall-budget.*):
#                summary.txt, summary.json, rss.csv (every 100 ms), server.log.
set -euo pipefail
N=${1:-6000}
SIZE=${2:-1048576}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/stall-budget.XXXXXX)}
mkdir -p "$OUT"
PORT=$((20000 + RANDOM % 10000))
ADDR=127.0.0.1:$PORT

(cd "$ROOT/benchmarks" && go build -o "$OUT/stall" ./cmd/stall)
if [ -z "${SERVER_CMD:-}" ]; then
  (cd "$ROOT" && go build -o "$OUT/echo" ./examples/echo)
  SERVER_CMD="$OUT/echo -addr {addr} -ping-interval 0 ${SERVER_ARGS:-}"
fi
CMD=${SERVER_CMD//\{addr\}/$ADDR}
echo "server: $CMD" | tee "$OUT/summary.txt"
# shellcheck disable=SC2086 # the command line is split on purpose
$CMD > "$OUT/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  ss -Hltn "( sport = :$PORT )" | grep -q . && break
  kill -0 $SRV 2>/dev/null || { echo "server exited at start:"; cat "$OUT/server.log"; exit 1; }
  sleep 0.1
done

# shellcheck disable=SC2086
timeout 290 "$OUT/stall" -addr "$ADDR" -pid $SRV -n "$N" -size "$SIZE" \
  -csv "$OUT/rss.csv" -json "$OUT/summary.json" ${STALL_ARGS:-} | tee -a "$OUT/summary.txt"
if kill -0 $SRV 2>/dev/null; then
  echo "server process alive after the run" | tee -a "$OUT/summary.txt"
else
  echo "server process DIED (see $OUT/server.log)" | tee -a "$OUT/summary.txt"
fi
echo "outputs in $OUT"
