// Command switchboard is the benchmark's switchboard server: echo every
// message, relay a message starting with 'B' to every connection. Engine
// defaults (DefaultConfig: heartbeats on, ping after 25s quiet, 10s pong
// timeout), one event loop per CPU.
//
// -max-message N (the large-message jobs) admits messages up to N bytes and
// lifts what would otherwise hold such a message back: the per-connection
// rate limits are off and the outbound limit is 2N, so one message of N
// bytes in flight each way is never throttled or refused.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/engine"
)

func main() {
	cfg := engine.DefaultConfig("127.0.0.1:9001")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (loopback)")
	flag.IntVar(&cfg.EventLoops, "loops", 0, "event loops (0: one per CPU)")
	maxMsg := flag.Int64("max-message", 0, "largest message in bytes, with no rate limits and a 2x outbound limit (0: engine defaults)")
	flag.Parse()
	if *maxMsg > 0 {
		cfg.MaxMessageSize = *maxMsg
		cfg.MaxMessagesPerSecond = 0 // 0 disables
		cfg.MaxBytesPerSecond = 0
		cfg.MaxOutbound = max(cfg.MaxOutbound, int(2**maxMsg))
	}
	// One line per connection problem would flood stderr when the load
	// generator resets 19k connections at once.
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	fan := newFanout()
	srv, err := engine.New(cfg, engine.Handlers{
		Open: func(c *engine.Conn) {
			ctl.Conns.Add(1)
			fan.join(c)
		},
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			if ctl.Broadcast(data) {
				fan.publish(data)
				return
			}
			_ = c.WriteMessage(typ, data)
		},
		Close: func(c *engine.Conn, err error) {
			fan.leave(c)
			ctl.Conns.Add(-1)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() {
		if addr := srv.Addr(); addr != "" {
			ctl.Ready(addr)
		}
	}()
	if err := srv.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
