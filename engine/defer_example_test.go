package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// An upgrade decision that needs I/O: the hook defers and returns at once,
// a goroutine asks the (here simulated) session store and answers later.
// The event loop never waits; the connection stays parked meanwhile.
func ExampleUpgradeRequest_Defer() {
	sessions := map[string]string{"secret": "alice"}
	lookup := func(token string) (string, bool) {
		time.Sleep(10 * time.Millisecond) // a round trip to Redis or an auth service
		user, ok := sessions[token]
		return user, ok
	}
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Upgrade = func(r *engine.UpgradeRequest, _ *engine.UpgradeResponse) error {
		token, _ := r.Cookie("session")
		d, err := r.Defer()
		if err != nil {
			return err // too many pending decisions: the client gets 503
		}
		go func(token string) { // token is copied: r is valid only during the hook
			user, ok := lookup(token)
			if !ok {
				_ = d.Reject(&engine.HTTPError{Status: 401, Body: "login first\n"})
				return
			}
			_ = d.Accept(engine.UpgradeResponse{Value: user})
		}(string(token))
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
	bad := &client.Dialer{Cookies: []*http.Cookie{{Name: "session", Value: "wrong"}}}
	var he *client.HandshakeError
	if _, err := bad.Dial(ctx, url, h); errors.As(err, &he) {
		fmt.Print(he.Status, " ", string(he.Body))
	}

	good := &client.Dialer{Cookies: []*http.Cookie{{Name: "session", Value: "secret"}}}
	c, err := good.Dial(ctx, url, h)
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	fmt.Println(<-got)
	// Output:
	// 401 login first
	// welcome alice
}
