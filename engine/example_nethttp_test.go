package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
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

	client, err := wstest.Dial(strings.TrimPrefix(web.URL, "http://"), &wstest.DialOptions{
		Path: "/ws", Header: http.Header{"X-User": {"alice"}},
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	_ = client.WriteText("hello")
	_, msg, _ := client.ReadMessage(time.Second)
	fmt.Println(string(msg))
	// Output: alice: hello
}
