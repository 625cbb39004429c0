#!/usr/bin/env bash
# usage: benchmarks/scripts/tls-echo-ab.sh ROUNDS SIZE MSGS SERVER...
#   e.g. benchmarks/scripts/tls-echo-ab.sh 6 64 200 switchboard gws
#        benchmarks/scripts/tls-echo-ab.sh 4 64 200 /tmp/old/switchboard switchboard gws
#   (needs make -C benchmarks build; SERVER is a program in benchmarks/bin or a path)
#
# wss:// echo, 1000 connections, servers interleaved round by round (the
# machine's load changes from minute to minute: compare servers within a
# round, and medians over rounds). Each run starts the server with an ECDSA
# P-256 certificate (a test PKI made with openssl at the start), runs
# `loadgen echo -c 1000 -m MSGS -s SIZE` (a warm-up of MSGS/10 first) and
# prints, per round trip (warm-up included): the load generator's and the
# server's CPU time, their context switches and the wake-ups each of them
# caused (perf stat: context-switches, sched:sched_wakeup; "-" without
# perf), and the rate and p50 the load generator reports. A closing table
# gives each server's medians. Bounded: each run stops after 60 s.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,6p "$0"; exit 2; }
R=$1; S=$2; M=$3; shift 3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/bin
OUT=$(mktemp -d)
trap 'rm -rf $OUT' EXIT
# Test PKI: a CA and a server certificate for 127.0.0.1 signed by it.
(
  cd $OUT
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 2 -out ca.pem 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out k0 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in k0 -out key.pem
  openssl req -new -key key.pem -subj /CN=localhost -out csr 2>/dev/null
  printf "subjectAltName=IP:127.0.0.1,DNS:localhost\n" > ext
  openssl x509 -req -in csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out cert.pem 2>/dev/null
)
PERF=$(command -v perf || true)
EV=task-clock,context-switches,sched:sched_wakeup
if [ -n "$PERF" ] && ! $PERF stat -e $EV -o /dev/null true 2>/dev/null; then PERF=; fi
i=0
for r in $(seq $R); do
  for s in "$@"; do
    i=$((i + 1))
    bin=$B/$s; [ -x "$bin" ] || bin=$s
    port=$((20000 + RANDOM % 20000))
    mkfifo $OUT/ctl-$i
    # The server exits when its stdin closes (package ctl).
    $bin -addr 127.0.0.1:$port -tls-cert $OUT/cert.pem -tls-key $OUT/key.pem < $OUT/ctl-$i > $OUT/srv-$i.log 2>&1 &
    pid=$!
    exec 7> $OUT/ctl-$i
    for k in $(seq 100); do (exec 3<> /dev/tcp/127.0.0.1/$port) 2> /dev/null && break; sleep 0.05; done
    c0=$(awk '{print $14+$15}' /proc/$pid/stat)
    pp=
    if [ -n "$PERF" ]; then
      $PERF stat -x, -e $EV -p $pid -o $OUT/srv-$i.stat 2> /dev/null &
      pp=$!
    fi
    gen=(timeout 60 $B/loadgen echo -addr 127.0.0.1:$port -c 1000 -m $M -s $S -tls-ca $OUT/ca.pem -ping-every 0 -q -src 127.$((180 + r)).$((i % 250 + 1)).2)
    if [ -n "$PERF" ]; then
      $PERF stat -x, -e $EV -o $OUT/gen-$i.stat "${gen[@]}" > $OUT/gen-$i.out 2>&1 || true
    else
      /usr/bin/time -f "%U %S" -o $OUT/gen-$i.time "${gen[@]}" > $OUT/gen-$i.out 2>&1 || true
    fi
    [ -n "$pp" ] && { kill -INT $pp; wait $pp || true; }
    c1=$(awk '{print $14+$15}' /proc/$pid/stat)
    exec 7>&-
    wait $pid 2> /dev/null || true
    n=$((1000 * M + 1000 * (M / 10)))
    tick=$(getconf CLK_TCK)
    # A run that failed reports no rate: the row says 0 and the run's
    # output is kept in the row's place.
    rate=$(grep -o '[0-9]* msg/s' $OUT/gen-$i.out | awk '{print $1}' || true)
    p50=$(grep -o 'p50 [^,]*' $OUT/gen-$i.out | awk '{print $2}' || true)
    [ -n "$rate" ] || sed 's/^/#   /' $OUT/gen-$i.out | tail -3 >&2
    srvcpu=$(awk -v a=$c0 -v b=$c1 -v n=$n -v t=$tick 'BEGIN{printf "%.2f", (b-a)/t*1e6/n}')
    if [ -n "$PERF" ]; then
      g=$(awk -F, -v n=$n '/task-clock/{c=$1*1000/n} /context-sw/{x=$1/n} /sched_wakeup/{w=$1/n} END{printf "%.2f %.3f %.3f", c, x, w}' $OUT/gen-$i.stat)
      v=$(awk -F, -v n=$n '/context-sw/{x=$1/n} /sched_wakeup/{w=$1/n} END{printf "%.3f %.3f", x, w}' $OUT/srv-$i.stat)
    else
      g="$(awk -v n=$n '{printf "%.2f", ($1+$2)*1e6/n}' $OUT/gen-$i.time) - -"
      v="- -"
    fi
    echo "$r $(basename $s) ${rate:-0} ${p50:--} $g $srvcpu $v" | tee -a $OUT/rows
  done
done | awk 'BEGIN{print "round server msg/s p50 gen-cpu-us/rt gen-cs/rt gen-wakes/rt srv-cpu-us/rt srv-cs/rt srv-wakes/rt"} {print}'
echo
echo "medians over $R round(s), $S B messages:"
for s in "$@"; do
  awk -v s=$(basename $s) '$2==s' $OUT/rows | python3 -c '
import sys, statistics as st
rows=[l.split() for l in sys.stdin if l.strip()]
def med(i):
    v=[float(r[i]) for r in rows if r[i] not in ("-",)]
    return st.median(v) if v else float("nan")
name=rows[0][1] if rows else "?"
print(f"  {name:24s} {med(2):9.0f} msg/s  gen {med(4):6.2f} us/rt  server {med(7):6.2f} us/rt  gen wakes/rt {med(6):.3f}  server cs/rt {med(8):.3f}")'
done
