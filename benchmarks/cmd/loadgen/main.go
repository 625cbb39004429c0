// Command loadgen is the benchmark load generator. It drives WebSocket (or,
// with -raw, plain TCP) load against one server on loopback, from as many
// worker processes as the open-file limit requires (it re-executes itself
// as `loadgen worker`), spreading connections over source addresses
// 127.0.0.2, 127.0.0.3, ... so no address runs out of ports.
//
//	loadgen idle      -addr 127.0.0.1:9001 -n 19000 -hold 10s
//	loadgen echo      -addr 127.0.0.1:9001 -c 1000 -m 100 -s 64
//	loadgen broadcast -addr 127.0.0.1:9001 -n 10000 -k 50 -s 64
//	loadgen echo      -addr 127.0.0.1:9001 -c 2 -m 4 -s 16777216 -timeout 20s
//	loadgen stall     -addr 127.0.0.1:9001 -n 500 -s 1048576 -hold 30s
//	loadgen echo      -addr 127.0.0.1:9001 -c 1000 -m 100 -s 16384 -doc json -deflate no-context-takeover
//
// Connections are switchboard's public client (package client: event
// loops, no goroutine per connection); -raw connections are plain
// net.Conns, stalled ones raw WebSocket connections (internal/wstest). In
// a broadcast with -deflate no-context-takeover, all subscribers but one in
// 100 are raw ones too, which inflate each distinct compressed payload once
// per worker process instead of every copy (the generator shares the
// machine with the server; see package load).
//
// -deflate no-context-takeover|context-takeover|server-context-takeover
// offers permessage-deflate (package client) and fails every connection
// whose handshake does not agree to it; -doc json sends generated JSON
// documents (package jsondoc) instead of bytes of one value. Echo reports
// the socket bytes per round trip both ways. -tls-ca FILE makes every
// connection wss:// (crypto/tls, verifying the server against that CA).
//
// Every message and timing protocol is described in package load. Every
// loop is bounded in count and time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage: loadgen idle|echo|broadcast|stall [flags]   (loadgen <mode> -h for flags)`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	if mode == "worker" {
		load.Main()
		return
	}
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9001", "server address (loopback)")
	path := fs.String("path", "/", "request path")
	raw := fs.Bool("raw", false, "plain TCP, no WebSocket (echo only)")
	src := fs.String("src", "127.0.0.2", "first source address")
	perSrc := fs.Int("per-source", 10000, "connections per source address")
	perProc := fs.Int("per-process", 15000, "connections per worker process")
	ping := fs.Duration("ping-every", 20*time.Second, "client ping interval (0: none)")
	n := fs.Int("n", 1000, "connections (idle, broadcast, stall)")
	hold := fs.Duration("hold", 10*time.Second, "idle, stall: how long to hold the connections (max 10m)")
	c := fs.Int("c", 1000, "echo: connections")
	m := fs.Int("m", 100, "echo: messages per connection")
	s := fs.Int("s", 64, "message size in bytes")
	k := fs.Int("k", 50, "broadcast: publishes")
	gap := fs.Duration("gap", 20*time.Millisecond, "broadcast: pause between publishes")
	timeout := fs.Duration("timeout", 60*time.Second, "echo: stop sending after; broadcast: per publish; stall: bound of each write")
	quiet := fs.Bool("q", false, "no progress bar")
	deflate := fs.String("deflate", "", "permessage-deflate offer: no-context-takeover, context-takeover or server-context-takeover (default none)")
	doc := fs.String("doc", "", "payload: json for generated JSON documents (default bytes of one value)")
	tlsCA := fs.String("tls-ca", "", "wss://: PEM file of the CA the server's certificate chains to")
	tlsResume := fs.Bool("tls-resume", false, "wss://: keep a TLS session cache per worker (resumption)")
	_ = fs.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := load.Options{
		Addr: *addr, Path: *path, Raw: *raw, SrcBase: *src, PerSource: *perSrc,
		PerProcess: *perProc, PingEvery: *ping, Progress: os.Stderr, Deflate: *deflate, Doc: *doc,
		TLSCA: *tlsCA, TLSResume: *tlsResume, Broadcast: mode == "broadcast",
	}
	if *quiet {
		opts.Progress = nil
	}
	if *raw {
		opts.PingEvery = 0
	}
	pool := load.NewPool(opts)
	defer pool.Close()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		_ = pool.Close()
		os.Exit(1)
	}
	switch mode {
	case "idle":
		got, err := pool.Grow(ctx, *n)
		if err != nil {
			fail(err)
		}
		fmt.Printf("holding %d connections in %d processes for %v\n", got, pool.Workers(), *hold)
		select {
		case <-ctx.Done():
		case <-time.After(min(*hold, 10*time.Minute)):
		}
		fmt.Printf("still open: %d\n", pool.Live())
	case "echo":
		if _, err := pool.Grow(ctx, *c); err != nil {
			fail(err)
		}
		if _, err := pool.Echo(ctx, *c, max(1, *m/10), *s, *timeout, false); err != nil {
			fail(err)
		}
		r, err := pool.Echo(ctx, *c, *m, *s, *timeout, true)
		if err != nil {
			fail(err)
		}
		fmt.Printf("echo %d conns x %d msgs x %d B: %.0f msg/s, p50 %v, p99 %v, max %v (%d errors); socket bytes per round trip: %.0f sent, %.0f received\n",
			r.Conns, *m, *s, r.Rate(), r.Hist.Quantile(0.5), r.Hist.Quantile(0.99), r.Hist.Quantile(1), r.Errors,
			float64(r.Tx)/float64(max(r.Msgs, 1)), float64(r.Rx)/float64(max(r.Msgs, 1)))
	case "broadcast":
		if *raw {
			fail(fmt.Errorf("broadcast needs WebSocket framing: no -raw"))
		}
		if _, err := pool.Grow(ctx, *n); err != nil {
			fail(err)
		}
		r, err := pool.Broadcast(ctx, *k, *s, *gap, *timeout)
		if err != nil {
			fail(err)
		}
		fmt.Printf("broadcast to %d subscribers x %d publishes x %d B: completion p50 %v, p99 %v, max %v; %d lost, %d arrivals of the wrong length",
			r.Subscribers, r.Publishes, *s, r.Quantile(0.5), r.Quantile(0.99), r.Quantile(1), r.Lost, r.Bad)
		if r.Shared > 0 {
			fmt.Printf("; %d compressed copies not inflated (a worker's earlier copy was)", r.Shared)
		}
		fmt.Println()
	case "stall":
		if *raw {
			fail(fmt.Errorf("stall needs WebSocket framing: no -raw"))
		}
		if _, err := pool.Grow(ctx, *n); err != nil {
			fail(err)
		}
		r, err := pool.Stall(ctx, *n, *s, *timeout)
		fmt.Printf("stall: %d of %d connections sent all of a %d-byte message but its last byte; holding them for %v\n", r.Sent, r.Conns, *s, *hold)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(*hold, 10*time.Minute)):
		}
		fmt.Printf("still open: %d\n", pool.Live())
	default:
		usage()
	}
}
