// Command echo is a WebSocket echo server: every text and binary message is
// sent back on any path.
//
//	go run ./examples/echo -addr 127.0.0.1:8080
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard-ws/switchboard/engine"
)

func main() {
	cfg := engine.DefaultConfig("127.0.0.1:8080")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	flag.IntVar(&cfg.EventLoops, "loops", 0, "event loops (0: one per CPU)")
	flag.DurationVar(&cfg.PingInterval, "ping-interval", cfg.PingInterval, "ping a quiet connection after this long (0 disables)")
	flag.DurationVar(&cfg.PongTimeout, "pong-timeout", cfg.PongTimeout, "close when nothing comes back this long after a ping (0 disables)")
	flag.DurationVar(&cfg.TickInterval, "tick", cfg.TickInterval, "timer wheel tick")
	maxMsg := flag.Int64("max-message", cfg.MaxMessageSize, "largest message accepted, in bytes")
	verbose := flag.Bool("v", false, "log every connection problem")
	flag.Parse()
	cfg.MaxMessageSize = *maxMsg

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.HTTP = engine.StaticHTTP(map[string]engine.HTTPResponse{
		"/healthz": {Body: []byte("ok\n")},
	})

	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		fmt.Printf("echo: listening on ws://%s/ (max %d connections)\n", srv.Addr(), srv.MaxConns())
	}()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
