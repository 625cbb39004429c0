package hub_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
)

// History and recovery: messages of "news.*" topics are numbered and the
// last 100 kept for 10 minutes; a client that comes back with the position
// of the last message it got (?since=OFFSET&epoch=EPOCH) gets what it
// missed, then the live ones.
func ExampleHub_SubscribeWith() {
	h, _ := hub.New(hub.Config{
		History: []hub.HistoryRule{{Pattern: "news.*", Size: 100, TTL: 10 * time.Minute}},
		// Subscribers receive "OFFSET text", so they know their position.
		Envelope: func(dst []byte, _ string, pos hub.Position, p []byte) []byte {
			return append(append(strconv.AppendUint(dst, pos.Offset, 10), ' '), p...)
		},
		OnRecovery: func(c *engine.Conn, _ string, r hub.Recovery) {
			if !r.Recovered {
				_ = c.WriteText([]byte("history lost, reload")) // too old, or another epoch
			}
		},
	})
	defer h.Close()
	app := engine.Handlers{
		Open: func(c *engine.Conn) {
			q, _ := url.ParseQuery(c.RawQuery())
			var o hub.SubscribeOptions
			if q.Has("since") {
				off, _ := strconv.ParseUint(q.Get("since"), 10, 64)
				o.Since = &hub.Position{Offset: off, Epoch: q.Get("epoch")}
			}
			_ = h.SubscribeWith(c, "news.sport", o)
		},
	}
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _ := engine.New(cfg, h.Handler(app))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Run(ctx)

	var last hub.Position
	for _, s := range []string{"kick-off", "goal", "half-time"} {
		last, _ = h.Publish("news.sport", engine.Text, []byte(s))
	}
	// A client (package client) whose last message was the first one.
	got := make(chan string, 2)
	q := url.Values{"since": {"1"}, "epoch": {last.Epoch}}
	c, err := client.Dial(ctx, "ws://"+srv.Addr()+"/?"+q.Encode(), &client.Handlers{
		Message: func(_ *client.Conn, _ client.MessageType, data []byte) { got <- string(data) },
	})
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	for range 2 {
		fmt.Println(<-got)
	}
	fmt.Println("position:", last.Offset)
	// Output:
	// 2 goal
	// 3 half-time
	// position: 3
}
