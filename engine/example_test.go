package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
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

	// The client (package client) runs on event loops too.
	got := make(chan string, 1)
	c, err := client.Dial(ctx, "ws://"+srv.Addr()+"/", &client.Handlers{
		Message: func(_ *client.Conn, _ client.MessageType, data []byte) { got <- string(data) },
	})
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	_ = c.WriteText([]byte("hello"))
	fmt.Println(<-got)
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
	url := "ws://" + srv.Addr() + "/"
	got := make(chan string, 1)
	h := &client.Handlers{
		Message: func(_ *client.Conn, _ client.MessageType, data []byte) { got <- string(data) },
	}

	// Without the cookie: refused before the upgrade, with the hook's
	// status and body.
	_, err := (&client.Dialer{Subprotocols: []string{"chat.v1"}}).Dial(ctx, url, h)
	var he *client.HandshakeError
	if errors.As(err, &he) {
		fmt.Print(he.Status, " ", string(he.Body))
	}

	// With it: upgraded, and the connection knows who it is.
	d := &client.Dialer{
		Subprotocols: []string{"chat.v1"},
		Cookies:      []*http.Cookie{{Name: "session", Value: "secret"}},
	}
	c, err := d.Dial(ctx, url, h)
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	fmt.Println(c.Protocol(), <-got)
	// Output:
	// 401 login first
	// chat.v1 welcome alice
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

	got := make(chan string, 1)
	closed := make(chan error, 1)
	_, err := client.Dial(ctx, "ws://"+srv.Addr()+"/", &client.Handlers{
		Message: func(_ *client.Conn, _ client.MessageType, data []byte) { got <- string(data) },
		Close:   func(_ *client.Conn, err error) { closed <- err },
	})
	if err != nil {
		panic(err)
	}
	c := <-opened
	_ = c.WriteText([]byte("bye soon")) // from another goroutine: handed to the loop
	_ = c.Close(codec.CloseNormal, "done")
	fmt.Println(<-got)
	var ce *client.CloseError
	if errors.As(<-closed, &ce) {
		fmt.Println(ce.Remote, ce.Code, ce.Reason)
	}
	// Output:
	// bye soon
	// true 1000 done
}
