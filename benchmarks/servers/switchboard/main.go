// Command switchboard is the benchmark's switchboard server: echo every
// message, relay a message starting with 'B' to every connection. Engine
// defaults (DefaultConfig: heartbeats on, ping after 25s quiet, 10s pong
// timeout), one event loop per CPU.
//
// -compression off|no-context-takeover|context-takeover (with
// -compression-window bits, 12 by default) sets Config.Deflate as the
// examples' flag of the same name does; DeflateThreshold stays at its
// default (128 bytes).
//
// -tls-cert and -tls-key serve wss:// instead (Config.TLS, crypto/tls with
// its defaults; package tlsflag).
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
	"github.com/switchboard-ws/switchboard/benchmarks/internal/tlsflag"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// applyCompression maps -compression and -compression-window to
// cfg.Deflate (the mapping of examples/internal/compression).
func applyCompression(cfg *engine.Config, mode string, window int) error {
	if window < 9 || window > codec.DeflateMaxWindowBits {
		return fmt.Errorf("-compression-window %d: want 9..15", window)
	}
	switch mode {
	case "off", "":
		cfg.Deflate = codec.DeflatePolicy{}
	case "no-context-takeover":
		cfg.Deflate = codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover}
	case "context-takeover":
		cfg.Deflate = codec.DeflatePolicy{Mode: codec.DeflateContextTakeover, ServerMaxWindowBits: window, ClientMaxWindowBits: window}
	default:
		return fmt.Errorf("-compression %q: want off, no-context-takeover or context-takeover", mode)
	}
	return nil
}

func main() {
	cfg := engine.DefaultConfig("127.0.0.1:9001")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (loopback)")
	flag.IntVar(&cfg.EventLoops, "loops", 0, "event loops (0: GOMAXPROCS)")
	maxMsg := flag.Int64("max-message", 0, "largest message in bytes, with no rate limits and a 2x outbound limit (0: engine defaults)")
	mode := flag.String("compression", "off", "permessage-deflate: off, no-context-takeover or context-takeover")
	window := flag.Int("compression-window", codec.DefaultDeflateWindowBits, "window bits (9..15) per connection and direction under context-takeover")
	flag.IntVar(&cfg.DeflateLevel, "compression-level", 0, "flate level 1..9 of the messages the server compresses (0: engine.DefaultDeflateLevel, 1)")
	tlsFlags := tlsflag.Register()
	flag.Parse()
	tlsCfg, err := tlsFlags.Config()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.TLS = tlsCfg
	if err := applyCompression(&cfg, *mode, *window); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *maxMsg > 0 {
		cfg.MaxMessageSize = *maxMsg
		cfg.MaxMessagesPerSecond = 0 // 0 disables
		cfg.MaxBytesPerSecond = 0
		cfg.MaxOutbound = max(cfg.MaxOutbound, int(2**maxMsg))
	}
	// One line per connection problem would flood stderr when the load
	// generator resets 19k connections at once.
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	threshold := 0
	if cfg.Deflate.Mode != codec.DeflateOff {
		threshold = cfg.DeflateThreshold
		if threshold == 0 {
			threshold = engine.DefaultDeflateThreshold
		}
	}
	fan := newFanout(threshold)
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
