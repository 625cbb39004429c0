package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// Mount WebSockets at /ws on an existing net/http server, behind its own
// middleware. The handshake runs in net/http's goroutine; the connection
// then lives on the engine's event loops.
func ExampleServer_HTTPHandler() {
	srv, _ := engine.New(engine.DefaultConfig("127.0.0.1:0"), engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, append([]byte(c.Value().(string)+": "), data...))
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()
	srv.Addr() // waits until the loops run: UpgradeHTTP answers 503 before

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-User") // your auth middleware's result
		if user == "" {
			http.Error(w, "login first", http.StatusUnauthorized)
			return
		}
		_ = srv.UpgradeHTTP(w, r, &engine.UpgradeResponse{Value: user})
	})
	web := httptest.NewServer(mux) // or http.ListenAndServe(":8080", mux)
	defer web.Close()

	got := make(chan string, 1)
	d := &client.Dialer{Header: http.Header{"X-User": {"alice"}}}
	c, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(web.URL, "http")+"/ws", client.Handlers{
		Message: func(c *client.Conn, typ client.MessageType, data []byte) { got <- string(data) },
	})
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	_ = c.WriteText([]byte("hello"))
	fmt.Println(<-got)
	// Output: alice: hello
}
