// Command echo is a WebSocket echo server: every text and binary message is
// sent back on any path.
//
//	go run ./examples/echo -addr 127.0.0.1:8080 [-compression no-context-takeover]
//
// With -tls-cert FILE -tls-key FILE (re-read on SIGHUP) or -tls-self-signed
// it serves wss:// on -addr, or plain ws:// on -addr and wss:// on
// -tls-addr:
//
//	go run ./examples/echo -addr 127.0.0.1:8080 -tls-addr 127.0.0.1:8443 -tls-self-signed
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
	"github.com/switchboard-ws/switchboard/examples/internal/compression"
	"github.com/switchboard-ws/switchboard/examples/internal/debugsrv"
	"github.com/switchboard-ws/switchboard/examples/internal/tlsflags"
	"github.com/switchboard-ws/switchboard/metrics"
)

func main() {
	cfg := engine.DefaultConfig("127.0.0.1:8080")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	flag.IntVar(&cfg.EventLoops, "loops", 0, "event loops (0: GOMAXPROCS)")
	flag.DurationVar(&cfg.PingInterval, "ping-interval", cfg.PingInterval, "ping a quiet connection after this long (0 disables)")
	flag.DurationVar(&cfg.PongTimeout, "pong-timeout", cfg.PongTimeout, "close when nothing comes back this long after a ping (0 disables)")
	flag.DurationVar(&cfg.TickInterval, "tick", cfg.TickInterval, "timer wheel tick")
	flag.Int64Var(&cfg.MaxMessageSize, "max-message", cfg.MaxMessageSize, "largest message accepted, in bytes (bigger: close 1009)")
	flag.Int64Var(&cfg.InboundBudget, "inbound-budget", 0, "server-wide bytes held in messages still arriving (past it: close 1013); 0: one eighth of memory")
	flag.IntVar(&cfg.MaxOutbound, "max-outbound", cfg.MaxOutbound, "bytes queued per connection (past it: close 1008)")
	flag.IntVar(&cfg.MaxMessagesPerSecond, "rate-messages", cfg.MaxMessagesPerSecond, "messages per second per connection (0 disables)")
	flag.IntVar(&cfg.MaxBytesPerSecond, "rate-bytes", cfg.MaxBytesPerSecond, "payload bytes per second per connection (0 disables)")
	flag.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", cfg.MaxConnsPerIP, "connections per client IP (0: unlimited)")
	flag.IntVar(&cfg.MaxHandshakesPerSecond, "max-handshakes", cfg.MaxHandshakesPerSecond, "new connections per second, server-wide (0: unlimited)")
	applyCompression := compression.Flags()
	tlsOpts := tlsflags.Flags()
	verbose := flag.Bool("v", false, "log every connection problem")
	debugAddr := debugsrv.Flag()
	flag.Parse()
	if err := applyCompression(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tlsOn, err := tlsOpts.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.TLS, cfg.TLSAddr = tlsOn.Config, tlsOn.Addr

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
	if _, err := debugsrv.Start(*debugAddr, metrics.Config{Engine: srv}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tlsOn.ReloadOnSignal(ctx, cfg.Logger, syscall.SIGHUP)
	go func() {
		urls := "ws://" + srv.Addr() + "/"
		switch {
		case tlsOn.Enabled() && tlsOn.Addr == "":
			urls = "wss://" + srv.TLSAddr() + "/"
		case tlsOn.Enabled():
			urls += " and wss://" + srv.TLSAddr() + "/"
		}
		tlsOn.Print(os.Stdout)
		fmt.Printf("echo: listening on %s (max %d connections, inbound budget %d MiB)\n",
			urls, srv.MaxConns(), srv.Stats().InboundBudget>>20)
	}()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
