package hub_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
)

// A chat room: every text message a client sends goes to everyone in its
// room (taken from the query, ?room=NAME), the sender included.
func Example() {
	h, _ := hub.New(hub.Config{})
	defer h.Close()
	app := engine.Handlers{
		Open: func(c *engine.Conn) {
			_ = h.Subscribe(c, c.RawQuery()) // e.g. "room=lobby"
		},
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_, _ = h.Publish(c.RawQuery(), typ, data)
		},
	}
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	// h.Handler removes a closing connection from its rooms.
	srv, _ := engine.New(cfg, h.Handler(app))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Run(ctx)

	// Two clients (package client) join the lobby.
	join := func(got chan string) *client.Conn {
		c, err := client.Dial(ctx, "ws://"+srv.Addr()+"/?room=lobby", client.Handlers{
			Message: func(c *client.Conn, typ client.MessageType, data []byte) { got <- string(data) },
		})
		if err != nil {
			panic(err)
		}
		return c
	}
	aliceGot, bobGot := make(chan string, 1), make(chan string, 1)
	alice, bob := join(aliceGot), join(bobGot)
	defer alice.Close(codec.CloseNormal, "")
	defer bob.Close(codec.CloseNormal, "")
	for h.Subscribers("room=lobby") < 2 {
		time.Sleep(time.Millisecond)
	}
	_ = alice.WriteText([]byte("hello"))
	fmt.Printf("bob got %q, alice got %q\n", <-bobGot, <-aliceGot)
	// Output: bob got "hello", alice got "hello"
}

// Publish from any goroutine, here a ticker's: the frame is encoded once
// for all subscribers, whichever event loops serve them.
func ExampleHub_Publish() {
	h, _ := hub.New(hub.Config{})
	go func() {
		for t := range time.Tick(time.Second) {
			_, _ = h.Publish("clock", engine.Text, t.AppendFormat(nil, time.RFC3339))
		}
	}()
}

// Several hubs in one process (say one server per network interface) act
// as one through a Bus; across machines use package redisbroker instead.
func ExampleBus() {
	bus := hub.NewBus()
	internal, _ := hub.New(hub.Config{Broker: bus.Broker()})
	public, _ := hub.New(hub.Config{Broker: bus.Broker()})
	// A publish on either reaches the subscribers of both.
	_, _ = internal.Publish("alerts", engine.Text, []byte("disk full"))
	_ = public
}
