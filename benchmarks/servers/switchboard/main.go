// Command switchboard is the benchmark's switchboard server: echo every
// message, relay a message starting with 'B' to every connection. Engine
// defaults (DefaultConfig: heartbeats on, ping after 25s quiet, 10s pong
// timeout), one event loop per CPU.
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
	flag.Parse()
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
