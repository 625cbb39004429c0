package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// An echo server: every message goes back to its sender.
func Example_echo() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data) // data is valid only during this call
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	client, err := wstest.Dial(srv.Addr(), nil)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	_ = client.WriteText("hello")
	_, msg, _ := client.ReadMessage(time.Second)
	fmt.Println(string(msg))
	// Output: hello
}

// The upgrade hook authenticates before the 101 and picks a subprotocol.
func ExampleUpgradeFunc() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
		token, ok := r.Cookie("session")
		if !ok || string(token) != "secret" {
			return &engine.HTTPError{Status: 401, Body: "login first\n"}
		}
		if r.HasProtocol("chat.v1") {
			resp.Protocol = "chat.v1"
		}
		resp.Value = "alice" // becomes Conn.Value()
		return nil
	}
	srv, _ := engine.New(cfg, engine.Handlers{
		Open: func(c *engine.Conn) { _ = c.WriteText([]byte("welcome " + c.Value().(string))) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	_, err := wstest.Dial(srv.Addr(), nil)
	var rejected *wstest.HandshakeError
	if errors.As(err, &rejected) {
		fmt.Println(rejected.Status, rejected.Body)
	}
	// Output: 401 login first
}

// Writes from any goroutine are safe; Close starts the close handshake.
func ExampleConn_Close() {
	opened := make(chan *engine.Conn, 1)
	srv, _ := engine.New(engine.DefaultConfig("127.0.0.1:0"), engine.Handlers{
		Open: func(c *engine.Conn) { opened <- c },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	client, _ := wstest.Dial(srv.Addr(), nil)
	defer client.Close()
	conn := <-opened
	_ = conn.WriteText([]byte("bye soon")) // from another goroutine: handed to the loop
	_ = conn.Close(codec.CloseNormal, "done")
	_, msg, _ := client.ReadMessage(time.Second)
	code, reason, _ := client.ExpectClose(time.Second)
	fmt.Println(string(msg), code, reason)
	// Output: bye soon 1000 done
}
