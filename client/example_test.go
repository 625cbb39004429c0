package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// echoServer starts an engine echo server for the examples.
func echoServer(cfg engine.Config) (addr string, stop func()) {
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := engine.New(cfg, engine.Handlers{
		Open: func(c *engine.Conn) {
			if v := c.Value(); v != nil {
				_ = c.WriteText([]byte(v.(string)))
			}
		},
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Run(ctx) }()
	return srv.Addr(), func() { cancel(); <-srv.Done() }
}

// Dial, send a message, print the echo, close.
func ExampleDialer_Dial() {
	addr, stop := echoServer(engine.DefaultConfig("127.0.0.1:0"))
	defer stop()

	got := make(chan string, 1)
	closed := make(chan error, 1)
	d := &client.Dialer{}
	c, err := d.Dial(context.Background(), "ws://"+addr+"/", client.Handlers{
		Message: func(c *client.Conn, typ client.MessageType, data []byte) { got <- string(data) },
		Close:   func(c *client.Conn, err error) { closed <- err },
	})
	if err != nil {
		panic(err)
	}
	_ = c.WriteText([]byte("hello"))
	fmt.Println(<-got)
	_ = c.Close(codec.CloseNormal, "done")
	fmt.Println(<-closed)
	// Output:
	// hello
	// websocket closed by client: 1000 done
}

// A refused handshake is a *HandshakeError with the server's status and body.
func ExampleHandshakeError() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
		if tok, ok := r.Cookie("session"); !ok || string(tok) != "secret" {
			return &engine.HTTPError{Status: 401, Body: "login first\n"}
		}
		resp.Value = "welcome"
		return nil
	}
	addr, stop := echoServer(cfg)
	defer stop()

	_, err := (&client.Dialer{}).Dial(context.Background(), "ws://"+addr+"/", nil)
	var he *client.HandshakeError
	if errors.As(err, &he) {
		fmt.Printf("%d %q retry=%v\n", he.Status, he.Body, client.DefaultRetry(err))
	}

	got := make(chan string, 1)
	d := &client.Dialer{Cookies: []*http.Cookie{{Name: "session", Value: "secret"}}}
	c, err := d.Dial(context.Background(), "ws://"+addr+"/", client.Handlers{
		Message: func(c *client.Conn, _ client.MessageType, data []byte) { got <- string(data) },
	})
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	fmt.Println(<-got)
	// Output:
	// 401 "login first\n" retry=false
	// welcome
}

// Full-jitter backoff: the delay before retry n is uniform in [0, window(n)).
func ExampleBackoff() {
	var b client.Backoff // 1 s, ×2, 30 s cap
	for n := 0; n < 7; n++ {
		fmt.Print(b.Window(n), ";")
	}
	fmt.Println()
	fmt.Println(b.Delay(3, 0.5)) // half of the 8 s window
	// Output:
	// 1s;2s;4s;8s;16s;30s;30s;
	// 4s
}

// Reconnect after the server restarts; resubscribe in OnReconnect.
func ExampleReconnect() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	addr, stop := echoServer(cfg)

	reconnected := make(chan struct{})
	d := &client.Dialer{Reconnect: &client.Reconnect{
		Backoff: client.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		OnReconnect: func(c *client.Conn) {
			_ = c.WriteText([]byte(`{"subscribe":"lobby"}`))
			close(reconnected)
		},
	}}
	c, err := d.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		panic(err)
	}
	stop() // close 1001 to every connection
	fmt.Println(c.WriteText([]byte("while down")))

	cfg.Addr = addr
	_, stop = echoServer(cfg) // back on the same address
	defer stop()
	<-reconnected
	fmt.Println(c.Connected())
	_ = c.Close(codec.CloseNormal, "")
	// Output:
	// client: connection is reconnecting; message not sent
	// true
}

// Resume a room of the broadcast example's protocol after a reconnect.
func ExampleRoomTracker() {
	rt := client.NewRoomTracker()
	// In a real program: d := client.Dialer{Reconnect: &client.Reconnect{URL: rt.URL}}
	// and d.Dial(ctx, "ws://host/ws?room=lobby", rt.Handler(h)).
	rt.Observe("lobby", []byte(`{"offset":41,"epoch":"a1","data":"hi"}`))
	fmt.Println(rt.URL(nil, "ws://host/ws?room=lobby"))
	// Output: ws://host/ws?epoch=a1&room=lobby&since=41
}

// One Client holds many connections on its event loops.
func ExampleNew() {
	addr, stop := echoServer(engine.DefaultConfig("127.0.0.1:0"))
	defer stop()
	cl, err := client.New(client.Config{EventLoops: 2})
	if err != nil {
		panic(err)
	}
	d := &client.Dialer{Client: cl}
	for i := 0; i < 100; i++ {
		if _, err := d.Dial(context.Background(), "ws://"+addr+"/", nil); err != nil {
			panic(err)
		}
	}
	fmt.Println(cl.Conns())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(cl.Close(ctx), cl.Conns())
	// Output:
	// 100
	// <nil> 0
}
