#!/usr/bin/env bash
# usage: benchmarks/scripts/heartbeat-cost.sh N PING_INTERVAL PONG_TIMEOUT [TICK]
#   e.g. benchmarks/scripts/heartbeat-cost.sh 10000 25s 10s   (needs make -C benchmarks build)
# Starts examples/echo, holds N idle upgraded connections (the client sends
# nothing: the server's heartbeats do the pinging), and reports the server's
# RSS delta per connection and its CPU time per second of wall time.
set -euo pipefail
OUT=$(mktemp -d)
N=$1; PING=$2; PONG=$3; TICK=${4:-250ms}
cd "$(dirname "$0")/../.."
go build -o $OUT/echo ./examples/echo
PORT=$((20000 + RANDOM % 10000))
$OUT/echo -addr 127.0.0.1:$PORT -ping-interval $PING -pong-timeout $PONG -tick $TICK > $OUT/echo.out 2>&1 &
SRV=$!
sleep 1
rss() { awk '/VmRSS/{print $2}' /proc/$SRV/status; }
cpu() { awk '{print $14+$15}' /proc/$SRV/stat; }
# warm-up connections, then baseline
benchmarks/bin/loadgen idle -addr 127.0.0.1:$PORT -n 100 -hold 2s -ping-every 0 -q >/dev/null 2>&1 || true
sleep 2
R0=$(rss)
benchmarks/bin/loadgen idle -addr 127.0.0.1:$PORT -n $N -hold 100s -ping-every 0 -q > $OUT/loadgen.out 2>&1 &
LG=$!
# wait for all N to be open (ss counts established conns on the port)
for i in $(seq 1 120); do
  n=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
  [ "$n" -ge "$N" ] && break; sleep 1
done
sleep 10   # settle
R1=$(rss); C1=$(cpu); T1=$(date +%s.%N)
sleep 60
C2=$(cpu); T2=$(date +%s.%N); R2=$(rss)
HZ=$(getconf CLK_TCK)
echo "N=$N ping=$PING pong=$PONG tick=$TICK open=$n rss_per_conn_B=$(( (R1-R0)*1024/N )) rss_after60s_per_conn_B=$(( (R2-R0)*1024/N )) cpu_ms_per_s=$(echo "scale=2; ($C2-$C1)*1000/$HZ/($T2-$T1)" | bc)"
kill $LG 2>/dev/null || true; kill $SRV; wait 2>/dev/null || true
